package dev.pgcluster.operator.crd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CRD is generated from the Java types at build time; the checked-in copies must match it. */
class CheckedInCrdTest {
  @Test
  void checkedInCopiesMatchTheGeneratedCrds() throws IOException {
    for (String file : List.of("pgclusters.pgcluster.dev-v1.yml", "pgbackups.pgcluster.dev-v1.yml")) {
      Path generatedFile = Path.of("target/classes/META-INF/fabric8", file);
      assertTrue(Files.exists(generatedFile), "the crd-generator plugin did not produce " + generatedFile);
      String generated = Files.readString(generatedFile);
      for (Path copy : List.of(Path.of("../crds", file), Path.of("../helm/pgcluster-operator/crds", file))) {
        assertEquals(generated, Files.readString(copy), copy + " is stale; refresh it with: cp operator/"
            + generatedFile + " " + copy.toString().substring(3));
      }
    }
  }
}
