package dev.pgcluster.operator.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.render.TestClusters;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CertificatesTest {
  private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");

  @Test
  void theCaSignsAServerCertificateForTheClustersNames() throws Exception {
    var cluster = TestClusters.cluster("pg", 3);
    Certificates.Issued ca = Certificates.authority("db/pg CA", NOW, ServerCertificate.CA_VALIDITY);
    List<String> names = ServerCertificate.dnsNames(cluster);
    Certificates.Issued server = Certificates.server(ca, names, NOW, ServerCertificate.VALIDITY);

    assertTrue(Certificates.signedBy(server.certificate(), ca.certificate()));
    assertEquals(names, Certificates.dnsNames(server.certificate()));
    assertTrue(names.containsAll(List.of("pg-rw", "pg-rw.db", "pg-rw.db.svc", "pg-rw.db.svc.cluster.local", "pg-ro",
        "pg-r", "*.pg.db.svc")), names.toString());
    assertEquals(NOW.plus(ServerCertificate.VALIDITY), server.notAfter());
    var x509 = Certificates.certificate(server.certificate());
    assertEquals(-1, x509.getBasicConstraints(), "a server certificate is no CA");
    assertTrue(x509.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"), "serverAuth");
    assertTrue(Certificates.certificate(ca.certificate()).getBasicConstraints() >= 0, "the CA is a CA");
    // The key matches the certificate: a signature made with it verifies with the certificate's key.
    var signature = java.security.Signature.getInstance("SHA256withECDSA");
    signature.initSign(Certificates.privateKey(server.privateKey()));
    signature.update(new byte[] {1, 2, 3});
    byte[] signed = signature.sign();
    signature.initVerify(x509.getPublicKey());
    signature.update(new byte[] {1, 2, 3});
    assertTrue(signature.verify(signed));
    assertTrue(server.privateKey().startsWith("-----BEGIN PRIVATE KEY-----"), "PKCS#8, as PostgreSQL reads it");
  }

  @Test
  void reissuedWhenMissingForeignRenamedOrCloseToExpiry() {
    var cluster = TestClusters.cluster("pg", 3);
    Certificates.Issued ca = Certificates.authority("db/pg CA", NOW, ServerCertificate.CA_VALIDITY);
    Certificates.Issued other = Certificates.authority("someone else", NOW, ServerCertificate.CA_VALIDITY);
    List<String> names = ServerCertificate.dnsNames(cluster);
    Certificates.Issued issued = Certificates.server(ca, names, NOW, ServerCertificate.VALIDITY);
    String server = issued.certificate();
    String key = issued.privateKey();

    assertEquals(Optional.empty(), ServerCertificate.reissueReason(server, key, ca.certificate(), names, NOW));
    assertEquals(Optional.of("no server certificate yet"), ServerCertificate.reissueReason(null, null, ca.certificate(), names,
        NOW));
    assertEquals(Optional.of("the server certificate is not signed by the cluster's CA"),
        ServerCertificate.reissueReason(server, key, other.certificate(), names, NOW));
    assertEquals(Optional.of("the server certificate's names differ from the cluster's Services"),
        ServerCertificate.reissueReason(server, key, ca.certificate(), ServerCertificate.dnsNames(TestClusters.cluster("pg2", 3)),
            NOW));
    Instant nearEnd = NOW.plus(ServerCertificate.VALIDITY).minus(ServerCertificate.RENEW_BEFORE);
    assertEquals(Optional.empty(), ServerCertificate.reissueReason(server, key, ca.certificate(), names,
        nearEnd.minus(Duration.ofSeconds(1))));
    assertTrue(ServerCertificate.reissueReason(server, key, ca.certificate(), names, nearEnd).orElseThrow()
        .startsWith("the server certificate expires at "));
    assertFalse(ServerCertificate.reissueReason("garbage", key, ca.certificate(), names, NOW).isEmpty());
    String otherKey = Certificates.server(ca, names, NOW, ServerCertificate.VALIDITY).privateKey();
    assertEquals(Optional.of("the server key does not match the server certificate"),
        ServerCertificate.reissueReason(server, otherKey, ca.certificate(), names, NOW));
    assertEquals(Optional.of("the server key does not match the server certificate"),
        ServerCertificate.reissueReason(server, null, ca.certificate(), names, NOW));
    assertFalse(ServerCertificate.reissueReason(server, "garbage", ca.certificate(), names, NOW).isEmpty());
  }

  @Test
  void aKeyMatchesOnlyItsOwnCertificate() {
    Certificates.Issued ca = Certificates.authority("db/pg CA", NOW, ServerCertificate.CA_VALIDITY);
    Certificates.Issued a = Certificates.server(ca, List.of("a"), NOW, ServerCertificate.VALIDITY);
    Certificates.Issued b = Certificates.server(ca, List.of("b"), NOW, ServerCertificate.VALIDITY);
    assertTrue(Certificates.keyMatches(a.certificate(), a.privateKey()));
    assertFalse(Certificates.keyMatches(a.certificate(), b.privateKey()));
    assertTrue(Certificates.keyMatches(ca.certificate(), ca.privateKey()));
    assertFalse(Certificates.keyMatches(ca.certificate(), a.privateKey()));
    assertThrows(IllegalArgumentException.class, () -> Certificates.keyMatches(a.certificate(), "not a key"));
  }
}
