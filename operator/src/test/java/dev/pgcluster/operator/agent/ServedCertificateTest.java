package dev.pgcluster.operator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.tls.Certificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServedCertificateTest {
  static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
  static final Certificates.Issued CA = Certificates.authority("db/pg CA", NOW, Duration.ofDays(3650));

  @TempDir
  Path secret;
  @TempDir
  Path served;
  final AtomicInteger reloads = new AtomicInteger();
  boolean reloadFails;
  ServedCertificate certificate;

  @BeforeEach
  void setUp() {
    certificate = new ServedCertificate(secret, served, () -> {
      if (reloadFails) {
        throw new java.sql.SQLException("connection refused");
      }
      reloads.incrementAndGet();
    }, Clock.fixed(NOW, ZoneOffset.UTC), List.of("pg-rw"));
  }

  @Test
  void nothingIsDoneBeforeRunShHasMadeTheCopies() throws Exception {
    secretHolds(issue(Duration.ofDays(365)));
    assertEquals(ServedCertificate.Outcome.UNCHANGED, certificate.check());
    assertEquals(0, reloads.get());
    assertEquals(0, Files.list(served).count(), "run.sh makes the first copies");
  }

  @Test
  void aRenewedCertificateIsCopiedOnlyForPostgresAndReloadedOnce() throws Exception {
    Certificates.Issued first = issue(Duration.ofDays(20));
    secretHolds(first);
    servedHolds(first);
    assertEquals(ServedCertificate.Outcome.UNCHANGED, certificate.check());

    Certificates.Issued renewed = issue(Duration.ofDays(365));
    secretHolds(renewed);
    assertEquals(ServedCertificate.Outcome.SERVED, certificate.check());
    assertEquals(1, reloads.get());
    assertEquals(renewed.certificate(), Files.readString(served.resolve("server.crt")));
    assertEquals(renewed.privateKey(), Files.readString(served.resolve("server.key")));
    assertEquals(CA.certificate(), Files.readString(served.resolve("ca.crt")));
    for (String f : List.of("server.crt", "server.key", "ca.crt")) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(served.resolve(f))), f);
    }
    assertEquals(List.of("ca.crt", "server.crt", "server.key"),
        Files.list(served).map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file left");
    assertEquals(ServedCertificate.Outcome.UNCHANGED, certificate.check());
    assertEquals(1, reloads.get(), "one reload per renewal");
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsNeverServed() throws Exception {
    Certificates.Issued current = issue(Duration.ofDays(365));
    secretHolds(current);
    servedHolds(current);
    Certificates.Issued a = issue(Duration.ofDays(365));
    Certificates.Issued b = issue(Duration.ofDays(365));
    secretHolds(new Certificates.Issued(a.certificate(), b.privateKey()));
    assertEquals(ServedCertificate.Outcome.REFUSED, certificate.check());
    assertEquals(ServedCertificate.Outcome.REFUSED, certificate.check());
    assertEquals(0, reloads.get());
    assertEquals(current.certificate(), Files.readString(served.resolve("server.crt")));
    assertEquals(current.privateKey(), Files.readString(served.resolve("server.key")));

    secretHolds(a);  // the kubelet's next write completes the pair
    assertEquals(ServedCertificate.Outcome.SERVED, certificate.check());
    assertEquals(a.privateKey(), Files.readString(served.resolve("server.key")));
  }

  @Test
  void anExpiredOrUnreadableCertificateOrAMissingFileIsNotServed() throws Exception {
    Certificates.Issued current = issue(Duration.ofDays(365));
    secretHolds(current);
    servedHolds(current);
    Certificates.Issued expired = Certificates.server(CA, List.of("pg-rw"), NOW.minus(Duration.ofDays(30)),
        Duration.ofDays(10));
    secretHolds(expired);
    assertEquals(ServedCertificate.Outcome.REFUSED, certificate.check());
    Files.writeString(secret.resolve("tls.crt"), "not a certificate");
    assertEquals(ServedCertificate.Outcome.REFUSED, certificate.check());
    Files.delete(secret.resolve("tls.key"));
    assertEquals(ServedCertificate.Outcome.REFUSED, certificate.check());
    assertEquals(0, reloads.get());
    assertEquals(current.certificate(), Files.readString(served.resolve("server.crt")));
  }

  @Test
  void aCertificateForOtherNamesOrNotYetValidIsNotServed() throws Exception {
    Certificates.Issued current = issue(Duration.ofDays(365));
    secretHolds(current);
    servedHolds(current);
    secretHolds(Certificates.server(CA, List.of("other-rw"), NOW, Duration.ofDays(365)));
    assertEquals(ServedCertificate.Outcome.REFUSED, certificate.check());
    secretHolds(Certificates.server(CA, List.of("pg-rw"), NOW.plus(Duration.ofDays(2)), Duration.ofDays(365)));
    assertEquals(ServedCertificate.Outcome.REFUSED, certificate.check());
    assertEquals(0, reloads.get());
    assertEquals(current.certificate(), Files.readString(served.resolve("server.crt")));
  }

  @Test
  void aReloadThatFailsIsTriedAgainAtTheNextCheck() throws Exception {
    Certificates.Issued current = issue(Duration.ofDays(365));
    secretHolds(current);
    servedHolds(current);
    Certificates.Issued renewed = issue(Duration.ofDays(365));
    secretHolds(renewed);
    reloadFails = true;
    assertEquals(ServedCertificate.Outcome.RELOAD_PENDING, certificate.check());
    assertEquals(renewed.certificate(), Files.readString(served.resolve("server.crt")), "copied already");
    reloadFails = false;
    assertEquals(ServedCertificate.Outcome.SERVED, certificate.check());
    assertEquals(1, reloads.get());
    assertEquals(ServedCertificate.Outcome.UNCHANGED, certificate.check());
  }

  private static Certificates.Issued issue(Duration validity) {
    return Certificates.server(CA, List.of("pg-rw"), NOW, validity);
  }

  private void secretHolds(Certificates.Issued server) throws Exception {
    Files.writeString(secret.resolve("tls.crt"), server.certificate());
    Files.writeString(secret.resolve("tls.key"), server.privateKey());
    Files.writeString(secret.resolve("ca.crt"), CA.certificate());
  }

  private void servedHolds(Certificates.Issued server) throws Exception {
    Files.writeString(served.resolve("server.crt"), server.certificate());
    Files.writeString(served.resolve("server.key"), server.privateKey());
    Files.writeString(served.resolve("ca.crt"), CA.certificate());
  }
}
