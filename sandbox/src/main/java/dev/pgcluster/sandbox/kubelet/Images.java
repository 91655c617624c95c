package dev.pgcluster.sandbox.kubelet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container images as the machine's installed software. Any {@code postgres} image (official or a
 * registry mirror, any tag) runs with the newest PostgreSQL server under /usr/lib/postgresql. The
 * {@code pgcluster-operator} image (any registry, any tag) runs the locally built operator jar with this
 * JVM, as its Dockerfile's entrypoint does; fabric8 is told where the service-account volume is mounted
 * (a container reads /var/run/secrets/kubernetes.io/serviceaccount, a process here reads the host
 * directory it maps to). Any {@code pgbouncer} image runs the Debian package's PgBouncer (/usr/sbin on
 * the PATH, as in the pooler images). Other images cannot run here.
 */
public final class Images {
  private static final Logger LOG = LoggerFactory.getLogger(Images.class);
  static final String SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

  /** How a container of an image starts: its PATH, entrypoint and the image's own environment. */
  public record Launch(String path, List<String> entrypoint, Map<String, String> environment) {}

  private final Path postgresBin;
  private final Path operatorJar;

  /** {@code operatorJar}: the built operator jar (with its lib/ beside it), or null when none runs here. */
  public Images(Path operatorJar) {
    this.postgresBin = newestPostgres().orElse(null);
    this.operatorJar = operatorJar;
  }

  Optional<Launch> launch(String image) {
    String name = repositoryName(image);
    String systemPath = "/usr/local/bin:/usr/bin:/bin";
    if (name.equals("postgres") || name.equals("postgresql")) {
      if (postgresBin == null) {
        LOG.error("image {} needs PostgreSQL server binaries: install them (apt-get install postgresql)", image);
        return Optional.empty();
      }
      return Optional.of(new Launch(postgresBin + ":" + systemPath, List.of(), Map.of()));
    }
    if (name.equals("pgbouncer")) {
      if (!Files.isExecutable(Path.of("/usr/sbin/pgbouncer"))) {
        LOG.error("image {} needs PgBouncer: install it (apt-get install pgbouncer)", image);
        return Optional.empty();
      }
      return Optional.of(new Launch("/usr/sbin:" + systemPath, List.of(), Map.of()));
    }
    if (name.equals("pgcluster-operator") && operatorJar != null) {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      return Optional.of(new Launch(systemPath, List.of(java, "-jar", operatorJar.toString()), Map.of(
          "JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError -XX:TieredStopAtLevel=1",
          "KUBERNETES_AUTH_SERVICEACCOUNT_TOKEN", SERVICE_ACCOUNT_MOUNT + "/token",
          "KUBERNETES_CERTS_CA_FILE", SERVICE_ACCOUNT_MOUNT + "/ca.crt",
          "KUBENAMESPACE", SERVICE_ACCOUNT_MOUNT + "/namespace")));
    }
    return Optional.empty();
  }

  static String repositoryName(String image) {
    String repository = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
    String name = repository.substring(repository.lastIndexOf('/') + 1);
    return name.contains(":") ? name.substring(0, name.indexOf(':')) : name;
  }

  public String postgresVersion() {
    return postgresBin == null ? "none" : postgresBin.getParent().getFileName().toString();
  }

  private static Optional<Path> newestPostgres() {
    Path lib = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(lib)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(lib)) {
      return versions.filter(v -> v.getFileName().toString().matches("\\d+"))
          .filter(v -> Files.isExecutable(v.resolve("bin/postgres")))
          .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())))
          .map(v -> v.resolve("bin"));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
