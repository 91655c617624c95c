package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * spec.tls with required: clients verify the server by the -rw Service's name against the CA the app
 * Secret carries, a connection without TLS is refused, and the standby replicates over TLS having
 * verified the primary (verify-full).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsE2ETest {
  static final String NS = "default";
  Sandbox sandbox;
  SandboxCluster tls;
  Path caFile;

  @BeforeAll
  void startCluster() throws Exception {
    tls = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: tls
        spec:
          instances: 2
          storage:
            size: 1Gi
          tls:
            enabled: true
            required: true
        """, 2, Duration.ofSeconds(150));
    sandbox = tls.sandbox;
    caFile = Files.createTempFile("tls-ca-", ".crt");
    Files.writeString(caFile, appSecret("ca.crt"));
  }

  @AfterAll
  void stop() throws Exception {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
    if (caFile != null) {
      Files.deleteIfExists(caFile);
    }
  }

  @Test
  void aClientVerifiesTheServerByTheServiceNameAndPlaintextIsRefused() throws Exception {
    assertTrue(appSecret("uri").endsWith("?sslmode=verify-full"), appSecret("uri"));
    assertEquals("verify-full", appSecret("sslmode"));
    String ip = sandbox.serviceAddress(NS, "tls-rw");
    // libpq checks the certificate against host= while it connects to hostaddr=: what a client in the
    // cluster does when it resolves tls-rw.default.svc.
    Psql verified = psql("host=tls-rw.default.svc hostaddr=" + ip + " sslmode=verify-full sslrootcert=" + caFile,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    assertEquals(0, verified.exit(), verified.output());
    assertEquals("t", verified.output().strip());

    Psql wrongName = psql("host=somewhere-else hostaddr=" + ip + " sslmode=verify-full sslrootcert=" + caFile,
        "SELECT 1");
    assertNotEquals(0, wrongName.exit(), wrongName.output());
    assertTrue(wrongName.output().contains("does not match host name"), wrongName.output());

    SQLException plaintext = assertThrows(SQLException.class, () -> connect(ip, "disable"));
    assertTrue(plaintext.getMessage().contains("no encryption"), plaintext.getMessage());
    try (Connection c = connect(ip, "require")) {
      assertEquals("true", one(c, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }
    var status = Await.until(Duration.ofSeconds(30), "the certificates' expiry in the status",
        () -> tls.get().getStatus().tls, t -> t != null && t.serverCertificateNotAfter != null);
    assertEquals("tls-server", status.serverSecret);
    java.time.Instant expires = java.time.Instant.parse(status.serverCertificateNotAfter);
    assertTrue(expires.isAfter(java.time.Instant.now().plus(Duration.ofDays(300))), status.serverCertificateNotAfter);
    assertTrue(java.time.Instant.parse(status.caNotAfter).isAfter(expires), status.caNotAfter);
  }

  @Test
  void theStandbyReplicatesOverTlsHavingVerifiedThePrimary() throws Exception {
    String primary = tls.get().getStatus().currentPrimary;
    String standby = primary.equals("tls-0") ? "tls-1" : "tls-0";
    try (Connection c = tls.toPod(primary)) {
      Await.until(Duration.ofSeconds(30), standby + " streaming over TLS", () -> one(c,
          "SELECT s.ssl::text || ' ' || s.version FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"
              + " WHERE r.application_name = '" + standby + "' AND r.state = 'streaming'"),
          v -> v != null && v.startsWith("true TLSv1."));
    }
    try (Connection c = tls.toPod(standby)) {
      String conninfo = one(c, "SHOW primary_conninfo");
      assertTrue(conninfo.contains("sslmode=verify-full") && conninfo.contains("sslrootcert="), conninfo);
    }
  }

  private Connection connect(String host, String sslmode) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", "app");
    props.setProperty("password", appSecret("password"));
    props.setProperty("sslmode", sslmode);
    props.setProperty("connectTimeout", "5");
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":5432/app", props);
  }

  private String appSecret(String key) {
    Secret s = sandbox.client().secrets().inNamespace(NS).withName("tls-app").get();
    return new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.UTF_8);
  }

  record Psql(int exit, String output) {}

  private Psql psql(String conninfo, String sql) throws Exception {
    Path bin;
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      bin = versions.max(Comparator.comparing(p -> Integer.parseInt(p.getFileName().toString()))).orElseThrow()
          .resolve("bin/psql");
    }
    List<String> command = new ArrayList<>(List.of(bin.toString(), "-X", "-At", "-d",
        conninfo + " port=5432 user=app dbname=app connect_timeout=5", "-c", sql));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().put("PGPASSWORD", appSecret("password"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "psql did not finish");
    return new Psql(p.exitValue(), out);
  }
}
