package dev.pgcluster.sandbox.kubelet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container images as the machine's installed software: any {@code postgres} image (official or a
 * registry mirror, any tag) runs with the newest PostgreSQL server installed under /usr/lib/postgresql,
 * whatever major version the tag names; other images cannot run here.
 */
final class Images {
  private static final Logger LOG = LoggerFactory.getLogger(Images.class);
  private final Path postgresBin;

  Images() {
    postgresBin = newestPostgres().orElse(null);
  }

  /** The PATH a container of this image runs with, or empty when the image cannot run here. */
  Optional<String> path(String image) {
    String repository = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
    String name = repository.substring(repository.lastIndexOf('/') + 1);
    if (name.contains(":")) {
      name = name.substring(0, name.indexOf(':'));
    }
    if (!name.equals("postgres") && !name.equals("postgresql")) {
      return Optional.empty();
    }
    if (postgresBin == null) {
      LOG.error("image {} needs PostgreSQL server binaries: install them (apt-get install postgresql)", image);
      return Optional.empty();
    }
    return Optional.of(postgresBin + ":/usr/local/bin:/usr/bin:/bin");
  }

  String postgresVersion() {
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
