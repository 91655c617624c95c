package dev.pgcluster.sandbox.kubelet;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * A small preload library, built once per JVM with the machine's C compiler: processes in pods that
 * read /etc/hosts themselves (c-ares, in PgBouncer) read their namespace's hosts file instead, as
 * glibc lookups do through nss_wrapper. See hosts-redirect.c.
 */
final class HostsRedirect {
  private static Path library;

  private HostsRedirect() {}

  static synchronized Path library() {
    if (library != null) {
      return library;
    }
    try {
      // World-readable: pod processes run as another user.
      Path dir = Files.createTempDirectory("pgc-hosts-redirect-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
      Path source = dir.resolve("hosts-redirect.c");
      try (InputStream in = HostsRedirect.class.getResourceAsStream("hosts-redirect.c")) {
        Files.writeString(source, new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
      Path out = dir.resolve("hosts-redirect.so");
      Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-O2", "-o", out.toString(), source.toString(), "-ldl")
          .redirectErrorStream(true).start();
      String output = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!cc.waitFor(60, TimeUnit.SECONDS) || cc.exitValue() != 0 || !Files.exists(out)) {
        throw new IllegalStateException("the sandbox builds a small preload library for pods' /etc/hosts with cc,"
            + " which failed (install gcc: apt-get install gcc libc6-dev): " + output);
      }
      Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxr-xr-x"));
      dir.toFile().deleteOnExit();
      source.toFile().deleteOnExit();
      out.toFile().deleteOnExit();
      library = out;
      return library;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
