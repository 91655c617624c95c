package dev.pgcluster.operator.agent;

import dev.pgcluster.operator.tls.Certificates;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Certificate rotation without a restart. PostgreSQL serves copies of the mounted TLS Secret's files
 * (run.sh makes them at start); when the kubelet brings a renewed certificate into the mount, this
 * replaces the copies and has the server reload its configuration. PostgreSQL loads the new certificate
 * for new connections; sessions already open keep theirs. A Secret whose files cannot serve (a key that
 * is not the certificate's, an expired or unreadable certificate) is not copied: the server keeps the
 * certificate it has, and the agent says why once.
 */
final class ServedCertificate {
  private static final Logger LOG = LoggerFactory.getLogger(ServedCertificate.class);

  /** The mounted Secret's file and the name PostgreSQL reads its copy under (run.sh uses the same). */
  private record File(String secretKey, String servedName) {}

  private static final List<File> FILES = List.of(new File("ca.crt", "ca.crt"), new File("tls.key", "server.key"),
      new File("tls.crt", "server.crt"));

  /** How PostgreSQL is told to load the files again (pg_reload_conf()). */
  interface Reload {
    void reload() throws Exception;
  }

  enum Outcome {
    /** The server serves what the Secret holds (or run.sh has not made the copies yet). */
    UNCHANGED,
    /** The copies were replaced and the server reloaded. */
    SERVED,
    /** The Secret's files cannot serve; the server keeps its certificate. */
    REFUSED,
    /** The copies are new but the reload did not get through; tried again at the next check. */
    RELOAD_PENDING
  }

  private final Path secretDirectory;
  private final Path servedDirectory;
  private final Reload reload;
  private final Clock clock;
  private final List<String> requiredNames;
  private boolean reloadPending;
  private boolean reloadFailureSaid;
  private String lastRefused;  // why the Secret's content was last refused
  private boolean refusalSaid;  // and whether that was logged (once)

  /**
   * @param requiredNames names the certificate must carry (the -rw Service's: standbys and the pooler
   *     verify the primary by it), as the operator requires of a Secret before rendering it
   */
  ServedCertificate(Path secretDirectory, Path servedDirectory, Reload reload, Clock clock, List<String> requiredNames) {
    this.requiredNames = List.copyOf(requiredNames);
    this.secretDirectory = secretDirectory;
    this.servedDirectory = servedDirectory;
    this.reload = reload;
    this.clock = clock;
  }

  Outcome check() throws IOException {
    byte[][] secret = new byte[FILES.size()][];
    boolean same = true;
    for (int i = 0; i < FILES.size(); i++) {
      File f = FILES.get(i);
      Path served = servedDirectory.resolve(f.servedName());
      if (!Files.exists(served)) {
        return Outcome.UNCHANGED;  // PostgreSQL has not been started with TLS yet: run.sh copies at start
      }
      try {
        secret[i] = Files.readAllBytes(secretDirectory.resolve(f.secretKey()));
      } catch (NoSuchFileException e) {
        return refuse("the Secret has no " + f.secretKey());
      }
      same &= Arrays.equals(secret[i], Files.readAllBytes(served));
    }
    if (same && !reloadPending) {
      lastRefused = null;
      refusalSaid = false;
      return Outcome.UNCHANGED;
    }
    if (!same) {
      String problem = problem(text(secret[2]), text(secret[1]), text(secret[0]));
      if (problem != null) {
        return refuse(problem);
      }
      for (int i = 0; i < FILES.size(); i++) {
        install(secret[i], servedDirectory.resolve(FILES.get(i).servedName()));
      }
      lastRefused = null;
      refusalSaid = false;
      reloadPending = true;
    }
    try {
      reload.reload();
    } catch (Exception e) {
      if (!reloadFailureSaid) {
        LOG.warn("the renewed certificate is in place but PostgreSQL could not be told to reload ({}); trying again"
            + " every 2 s", e.getMessage());
        reloadFailureSaid = true;
      }
      return Outcome.RELOAD_PENDING;
    }
    reloadPending = false;
    reloadFailureSaid = false;
    var certificate = Certificates.certificate(text(secret[2]));
    LOG.info("serving the renewed certificate (serial {}, valid until {}): configuration reloaded, no restart;"
        + " open sessions keep theirs", certificate.getSerialNumber().toString(16),
        certificate.getNotAfter().toInstant());
    return Outcome.SERVED;
  }

  /** Why these files cannot serve, or null. */
  private String problem(String certificate, String key, String ca) {
    try {
      Certificates.certificate(ca);
      var cert = Certificates.certificate(certificate);
      if (!clock.instant().isBefore(cert.getNotAfter().toInstant())) {
        return "the certificate expired at " + cert.getNotAfter().toInstant();
      }
      if (clock.instant().isBefore(cert.getNotBefore().toInstant())) {
        return "the certificate is not valid before " + cert.getNotBefore().toInstant();
      }
      List<String> names = Certificates.dnsNames(certificate);
      for (String name : requiredNames) {
        if (!names.contains(name)) {
          return "the certificate does not name " + name + " (standbys verify the primary by it)";
        }
      }
      if (!Certificates.keyMatches(certificate, key)) {
        return "tls.key is not the key of tls.crt";
      }
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  /**
   * Said at the second check that finds the same problem: a kubelet may be caught between writing one
   * file of a renewed Secret and the next, which is no reason for a warning.
   */
  private Outcome refuse(String reason) {
    if (Objects.equals(reason, lastRefused) && !refusalSaid) {
      LOG.warn("not serving the TLS Secret's new content: {}; PostgreSQL keeps the certificate it serves", reason);
      refusalSaid = true;
    } else if (!Objects.equals(reason, lastRefused)) {
      lastRefused = reason;
      refusalSaid = false;
    }
    return Outcome.REFUSED;
  }

  /** Written beside, then renamed over the copy: PostgreSQL never reads half a file. */
  private static void install(byte[] content, Path target) throws IOException {
    Path tmp = target.resolveSibling("." + target.getFileName() + ".new");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.write(tmp, content);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
