package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's "try it" command, end to end: it must bring a cluster up and print what to connect to. */
class SandboxMainE2ETest {
  @TempDir
  Path dir;

  @Test
  void bringsUpTheDefaultExampleAndPrintsWorkingConnectionStrings() throws Exception {
    // Not under @TempDir (mode 0700): pod processes run as another user and must reach the directory.
    Path keep = Path.of("/tmp", "pgcsb-main-" + ProcessHandle.current().pid());
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int exit = SandboxMain.run(new String[] {"../" + SandboxMain.DEFAULT_MANIFEST, "--keep", keep.toString(),
        "--exit-when-ready", "--timeout-seconds", "120"}, new PrintStream(captured, true, StandardCharsets.UTF_8));
    String output = captured.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, output);
    assertTrue(output.contains("is Ready."), output);
    assertTrue(output.contains(" --kubeconfig " + keep.resolve("kubeconfig") + " get pgc"), output);
    Matcher rw = Pattern.compile("read-write: psql \"host=(\\S+) port=5432 dbname=(\\S+) user=(\\S+) password=(\\S+)\"")
        .matcher(output);
    assertTrue(rw.find(), output);
    assertTrue(Files.isRegularFile(keep.resolve("kubeconfig")), "the kubeconfig stays with --keep");
    try (var walk = Files.walk(keep)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void reportsAnInvalidSpecClearlyAndFails() throws Exception {
    Path manifest = dir.resolve("weak-auth.yaml");
    Files.writeString(manifest, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: weak
        spec:
          instances: 1
          storage:
            size: 1Gi
          postgresql:
            pgHba:
              - "host all all 0.0.0.0/0 trust"
        """);
    String output = tryItFails(manifest);
    assertTrue(output.contains("InvalidSpec"), output);
    assertTrue(output.contains("uses a weak method"), output);
  }

  @Test
  void showsTheApiServersMessageForAManifestItRejects() throws Exception {
    Path manifest = dir.resolve("too-many.yaml");
    Files.writeString(manifest, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: big
        spec:
          instances: 10
          storage:
            size: 1Gi
        """);
    String output = tryItFails(manifest);
    assertTrue(output.contains("the API server rejected"), output);
    assertTrue(output.contains("spec.instances in body should be less than or equal to 9"), output);
  }

  /** Runs the try-it command on a manifest that must not come up: exit code 1; returns what it printed. */
  private static String tryItFails(Path manifest) throws Exception {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int exit = SandboxMain.run(new String[] {manifest.toString(), "--exit-when-ready", "--timeout-seconds", "60"},
        new PrintStream(captured, true, StandardCharsets.UTF_8));
    String output = captured.toString(StandardCharsets.UTF_8);
    assertEquals(1, exit, output);
    return output;
  }

  @Test
  void refusesAMissingManifest() throws Exception {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int exit = SandboxMain.run(new String[] {dir.resolve("nope.yaml").toString()},
        new PrintStream(captured, true, StandardCharsets.UTF_8));
    assertEquals(2, exit);
    assertTrue(captured.toString(StandardCharsets.UTF_8).contains("no manifest at"));
  }
}
