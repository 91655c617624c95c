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
  private static final String FILE = "pgclusters.pgcluster.dev-v1.yml";
  private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8", FILE);

  @Test
  void checkedInCopiesMatchTheGeneratedCrd() throws IOException {
    assertTrue(Files.exists(GENERATED), "the crd-generator plugin did not produce " + GENERATED);
    String generated = Files.readString(GENERATED);
    for (Path copy : List.of(Path.of("../crds", FILE), Path.of("../helm/pgcluster-operator/crds", FILE))) {
      assertEquals(generated, Files.readString(copy), copy + " is stale; refresh it with: cp operator/"
          + GENERATED + " " + copy.toString().substring(3));
    }
  }
}
