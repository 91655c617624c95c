package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code ha/} decides and never acts: no file in it may name JDBC, the Kubernetes client, or the I/O
 * and network packages, imported or written out in full. A decision that needs one of them belongs
 * on the act side, behind a port.
 */
class HaPurityTest {
  private static final Path HA = Path.of("src/main/java/dev/pgcluster/operator/ha");
  private static final Pattern FORBIDDEN = Pattern.compile(
      "\\b(java\\.sql|javax\\.sql|java\\.io|java\\.nio|java\\.net|java\\.lang\\.ProcessBuilder|io\\.fabric8"
          + "|io\\.javaoperatorsdk|org\\.postgresql)\\b");

  @Test
  void noFileInHaReachesTheOutsideWorld() throws IOException {
    List<String> offences = new ArrayList<>();
    int files = 0;
    try (Stream<Path> sources = Files.list(HA)) {
      for (Path source : sources.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
        files++;
        List<String> lines = Files.readAllLines(source);
        for (int i = 0; i < lines.size(); i++) {
          Matcher m = FORBIDDEN.matcher(lines.get(i));
          if (m.find()) {
            offences.add(source.getFileName() + ":" + (i + 1) + " names " + m.group(1));
          }
        }
      }
    }
    assertTrue(files >= 10, "read the ha/ sources (found " + files + ")");
    assertEquals(List.of(), offences);
  }

  @Test
  void theCheckFindsWhatItLooksFor() {
    assertTrue(FORBIDDEN.matcher("import java.sql.Connection;").find());
    assertTrue(FORBIDDEN.matcher("  io.fabric8.kubernetes.client.KubernetesClient client;").find());
    assertTrue(FORBIDDEN.matcher("import java.nio.file.Files;").find());
    assertTrue(!FORBIDDEN.matcher("import java.util.List;").find());
  }
}
