package dev.pgcluster.operator.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.TlsSpec;
import dev.pgcluster.operator.render.SecretRenderer;
import dev.pgcluster.operator.render.TestClusters;
import dev.pgcluster.operator.tls.Certificates;
import dev.pgcluster.operator.tls.ServerCertificate;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The TLS Secrets against the mock API server: created once, issued again when due, the app Secret told. */
@EnableKubernetesMockClient(crud = true)
class TlsSecretsApiTest {
  private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
  KubernetesClient client;

  @Test
  void aCaIsKeptTheServerCertificateIssuedOnceAndAgainBeforeItExpires() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    TlsSecrets tls = new TlsSecrets(client, new EventRecorder(client, "test"));
    assertEquals(Optional.empty(), tls.apply(cluster, NOW), "TLS off: nothing");
    assertEquals(null, client.secrets().inNamespace("db").withName("pg-ca").get());

    client.resource(SecretRenderer.app(cluster, new SecureRandom())).create();
    String passwordBefore = TlsSecrets.value(client.secrets().inNamespace("db").withName("pg-app").get(), "password");
    cluster.getSpec().tls = new TlsSpec();
    cluster.getSpec().tls.enabled = true;
    String ca = tls.apply(cluster, NOW).orElseThrow();
    Secret server = client.secrets().inNamespace("db").withName("pg-server").get();
    String certificate = TlsSecrets.value(server, "tls.crt");
    assertTrue(Certificates.signedBy(certificate, ca));
    assertEquals(ca, TlsSecrets.value(server, "ca.crt"));
    assertEquals("kubernetes.io/tls", server.getType());
    assertEquals(ServerCertificate.dnsNames(cluster), Certificates.dnsNames(certificate));
    var status = tls.status(cluster);
    assertEquals("pg-server", status.serverSecret);
    assertEquals(Certificates.notAfter(certificate).toString(), status.serverCertificateNotAfter);
    assertEquals(Certificates.notAfter(ca).toString(), status.caNotAfter);
    assertTrue(Certificates.notAfter(ca).isAfter(Certificates.notAfter(certificate)), "the CA outlives the certificate");

    Secret app = client.secrets().inNamespace("db").withName("pg-app").get();
    assertEquals(ca, TlsSecrets.value(app, "ca.crt"));
    assertEquals("verify-full", TlsSecrets.value(app, "sslmode"));
    assertTrue(TlsSecrets.value(app, "uri").endsWith("/app?sslmode=verify-full"), TlsSecrets.value(app, "uri"));
    assertTrue(TlsSecrets.value(app, "fqdn-uri").endsWith(".svc:5432/app?sslmode=verify-full"), TlsSecrets.value(app, "fqdn-uri"));
    assertTrue(TlsSecrets.value(app, "jdbc-uri").endsWith("&sslmode=verify-full"), TlsSecrets.value(app, "jdbc-uri"));
    assertTrue(TlsSecrets.value(app, "fqdn-jdbc-uri").endsWith("&sslmode=verify-full"));
    assertEquals(passwordBefore, TlsSecrets.value(app, "password"), "the password is never touched");

    // Again the next day: the same CA, the same certificate.
    assertEquals(ca, tls.apply(cluster, NOW.plusSeconds(86_400)).orElseThrow());
    assertEquals(certificate, TlsSecrets.value(client.secrets().inNamespace("db").withName("pg-server").get(), "tls.crt"));
    assertEquals(TlsSecrets.value(app, "uri"),
        TlsSecrets.value(client.secrets().inNamespace("db").withName("pg-app").get(), "uri"), "the URI once");

    // Thirty days before it expires: issued again, by the same CA.
    Instant due = Certificates.notAfter(certificate).minus(ServerCertificate.RENEW_BEFORE);
    assertEquals(ca, tls.apply(cluster, due).orElseThrow());
    String renewed = TlsSecrets.value(client.secrets().inNamespace("db").withName("pg-server").get(), "tls.crt");
    assertNotEquals(certificate, renewed);
    assertEquals(Certificates.notAfter(renewed).toString(), tls.status(cluster).serverCertificateNotAfter,
        "the status follows the renewal");
    assertTrue(Certificates.signedBy(renewed, ca));
    assertTrue(Certificates.notAfter(renewed).isAfter(Certificates.notAfter(certificate)));
    assertTrue(client.v1().events().inNamespace("db").list().getItems().stream()
        .filter(e -> EventReasons.CERTIFICATE_ISSUED.equals(e.getReason())).count() >= 2);
  }

  @Test
  void aUsersServerSecretIsServedAsItIs() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().tls = new TlsSpec();
    cluster.getSpec().tls.enabled = true;
    cluster.getSpec().tls.serverSecret = "pg-tls";
    Certificates.Issued ca = Certificates.authority("cert-manager", NOW, ServerCertificate.CA_VALIDITY);
    Certificates.Issued issued = Certificates.server(ca, ServerCertificate.dnsNames(cluster), NOW,
        ServerCertificate.VALIDITY);
    client.resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata().withName("pg-tls")
        .withNamespace("db").endMetadata().addToStringData("tls.crt", issued.certificate())
        .addToStringData("tls.key", issued.privateKey()).addToStringData("ca.crt", ca.certificate()).build()).create();
    TlsSecrets tls = new TlsSecrets(client, new EventRecorder(client, "test"));
    assertEquals(ca.certificate(), tls.apply(cluster, NOW).orElseThrow());
    assertEquals(null, client.secrets().inNamespace("db").withName("pg-ca").get(), "no CA of the operator's");
    assertEquals(null, client.secrets().inNamespace("db").withName("pg-server").get());
  }

  /** A user's certificate that cannot serve: named in InvalidSpec, nothing rendered from the spec. */
  @Test
  void aUsersServerSecretThatCannotServeIsRefusedWithItsReason() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().tls = new TlsSpec();
    cluster.getSpec().tls.enabled = true;
    cluster.getSpec().tls.serverSecret = "pg-tls";
    PgClusterReconciler reconciler = new PgClusterReconciler(client,
        dev.pgcluster.operator.config.OperatorConfig.fromEnv(java.util.Map.of("POD_NAME", "op")),
        new dev.pgcluster.operator.metrics.PgClusterMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()),
        java.time.Clock.fixed(NOW, java.time.ZoneOffset.UTC));
    assertEquals(java.util.List.of("spec.tls.serverSecret: Secret pg-tls does not exist in namespace db"),
        reconciler.tlsSecretProblems(cluster));

    Certificates.Issued ca = Certificates.authority("cert-manager", NOW.minusSeconds(400 * 86_400L),
        ServerCertificate.CA_VALIDITY);
    Certificates.Issued wrongNames = Certificates.server(ca, java.util.List.of("other-rw"), NOW.minusSeconds(400 * 86_400L),
        ServerCertificate.VALIDITY);
    var secret = new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata().withName("pg-tls")
        .withNamespace("db").endMetadata().addToStringData("tls.crt", wrongNames.certificate())
        .addToStringData("tls.key", wrongNames.privateKey()).build();
    client.resource(secret).create();
    assertEquals(java.util.List.of("spec.tls.serverSecret: Secret pg-tls has no key ca.crt"),
        reconciler.tlsSecretProblems(cluster));

    secret.getStringData().put("ca.crt", ca.certificate());
    client.resource(secret).update();
    var problems = reconciler.tlsSecretProblems(cluster);
    assertEquals(2, problems.size(), problems.toString());
    assertTrue(problems.get(0).startsWith("spec.tls.serverSecret: Secret pg-tls: the certificate expired at "),
        problems.get(0));
    assertEquals("spec.tls.serverSecret: Secret pg-tls: the certificate does not name pg-rw (it names other-rw);"
        + " standbys verify the primary by that name", problems.get(1));

    Certificates.Issued good = Certificates.server(ca, ServerCertificate.dnsNames(cluster), NOW, ServerCertificate.VALIDITY);
    Certificates.Issued another = Certificates.server(ca, ServerCertificate.dnsNames(cluster), NOW,
        ServerCertificate.VALIDITY);
    secret.getStringData().put("tls.crt", good.certificate());
    secret.getStringData().put("tls.key", another.privateKey());
    client.resource(secret).update();
    assertEquals(java.util.List.of("spec.tls.serverSecret: Secret pg-tls: tls.key is not the key of tls.crt"),
        reconciler.tlsSecretProblems(cluster));
    secret.getStringData().put("tls.key", good.privateKey());
    client.resource(secret).update();
    assertEquals(java.util.List.of(), reconciler.tlsSecretProblems(cluster));
    // A read-only pooler verifies the standbys by the -ro name: a certificate for -rw only does not do.
    Certificates.Issued rwOnly = Certificates.server(ca, java.util.List.of("pg-rw"), NOW, ServerCertificate.VALIDITY);
    secret.getStringData().put("tls.crt", rwOnly.certificate());
    secret.getStringData().put("tls.key", rwOnly.privateKey());
    client.resource(secret).update();
    assertEquals(java.util.List.of(), reconciler.tlsSecretProblems(cluster));
    cluster.getSpec().pooler = new dev.pgcluster.operator.api.v1alpha1.PoolerSpec();
    cluster.getSpec().pooler.readOnlyInstances = 1;
    assertEquals(java.util.List.of("spec.tls.serverSecret: Secret pg-tls: the certificate does not name pg-ro (it names"
        + " pg-rw); the read-only pooler (spec.pooler.readOnlyInstances) verifies the standbys by that name"),
        reconciler.tlsSecretProblems(cluster));
    cluster.getSpec().pooler = null;

    secret.getStringData().put("tls.crt", "not a certificate");
    client.resource(secret).update();
    assertTrue(reconciler.tlsSecretProblems(cluster).get(0).startsWith(
        "spec.tls.serverSecret: Secret pg-tls: tls.crt is not a PEM certificate"), reconciler.tlsSecretProblems(cluster)
        .toString());
  }
}
