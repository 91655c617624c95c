package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.tls.Certificates;
import dev.pgcluster.operator.tls.ServerCertificate;
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

  /**
   * Rotation by a reload: the server Secret is given a certificate ten days from expiry (as one would be
   * after eleven months), the operator issues a new one, and every instance serves it without a
   * restart: the postmasters keep their start time, a writer keeps its TLS session and every row it
   * had acknowledged is there, on the standby too.
   */
  @Test
  void aRenewedCertificateIsServedByAReloadWithoutARestartOrADroppedSession() throws Exception {
    List<String> pods = List.of("tls-0", "tls-1");
    java.util.Map<String, String> startedAt = new java.util.HashMap<>();
    java.util.Map<String, java.math.BigInteger> servedBefore = new java.util.HashMap<>();
    for (String pod : pods) {
      try (Connection c = tls.toPod(pod)) {
        startedAt.put(pod, one(c, "SELECT pg_postmaster_start_time()::text"));
      }
      servedBefore.put(pod, servedSerial(sandbox.podIp(NS, pod)));
    }
    java.util.Map<String, Integer> restarts = restartCounts();
    String secretBefore = serverSecret("tls.crt");
    assertEquals(Certificates.certificate(secretBefore).getSerialNumber(), servedBefore.get("tls-0"));

    String ip = sandbox.serviceAddress(NS, "tls-rw");
    java.util.concurrent.atomic.AtomicInteger acked = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    Connection writer = connect(ip, "verify-ca");
    String writerPid = one(writer, "SELECT pg_backend_pid()::text");
    try (var st = writer.createStatement()) {
      st.execute("CREATE TABLE rotation (id int PRIMARY KEY)");
    }
    Thread writes = new Thread(() -> {
      try (var insert = writer.prepareStatement("INSERT INTO rotation VALUES (?)")) {
        for (int id = 1; !stop.get(); id++) {
          insert.setInt(1, id);
          insert.executeUpdate();
          acked.set(id);
          Thread.sleep(20);
        }
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "tls-writer");
    writes.start();

    // Ten days from expiry, signed by the cluster's CA, for the right names: what renewal is for.
    var ca = new Certificates.Issued(secret("tls-ca", "ca.crt"), secret("tls-ca", "ca.key"));
    Certificates.Issued expiring = Certificates.server(ca, ServerCertificate.dnsNames(tls.get()),
        java.time.Instant.now(), Duration.ofDays(10));
    sandbox.client().secrets().inNamespace(NS).withName("tls-server").edit(s -> {
      s.getData().put("tls.crt", Base64.getEncoder().encodeToString(expiring.certificate().getBytes(StandardCharsets.UTF_8)));
      s.getData().put("tls.key", Base64.getEncoder().encodeToString(expiring.privateKey().getBytes(StandardCharsets.UTF_8)));
      return s;
    });
    java.math.BigInteger expiringSerial = Certificates.certificate(expiring.certificate()).getSerialNumber();
    String renewed = Await.until(Duration.ofSeconds(90), "a renewed certificate served by every instance", () -> {
      String crt = serverSecret("tls.crt");
      var cert = Certificates.certificate(crt);
      if (cert.getSerialNumber().equals(expiringSerial)
          || cert.getNotAfter().toInstant().isBefore(java.time.Instant.now().plus(Duration.ofDays(300)))) {
        return null;
      }
      for (String pod : pods) {
        if (!cert.getSerialNumber().equals(servedSerial(sandbox.podIp(NS, pod)))) {
          return null;
        }
      }
      return crt;
    }, v -> v != null);
    assertNotEquals(secretBefore, renewed);
    Thread.sleep(1000);
    stop.set(true);
    writes.join(10_000);
    assertEquals(null, failure.get(), "the writer's session outlived the rotation");
    assertEquals(writerPid, one(writer, "SELECT pg_backend_pid()::text"), "the same session throughout");
    assertEquals("true", one(writer, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    writer.close();
    assertTrue(acked.get() > 20, "writes went on during the rotation: " + acked.get());
    System.out.println("certificate rotated by a reload: " + acked.get() + " rows acknowledged on one TLS session");

    for (String pod : pods) {
      try (Connection c = tls.toPod(pod)) {
        assertEquals(startedAt.get(pod), one(c, "SELECT pg_postmaster_start_time()::text"), pod + " not restarted");
        String rows = Await.until(Duration.ofSeconds(30), "every acknowledged row on " + pod,
            () -> one(c, "SELECT count(*)::text FROM rotation WHERE id <= " + acked.get()),
            v -> Integer.toString(acked.get()).equals(v));
        assertEquals(Integer.toString(acked.get()), rows);
      }
    }
    assertEquals(restarts, restartCounts(), "no container restarted");
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "CertificateIssued".equals(e.getReason()) && e.getMessage().contains("expires at")),
        "the operator said why it issued a certificate");
    // New connections verify the renewed certificate by the Service's name; the standby still streams over TLS.
    Psql verified = psql("host=tls-rw.default.svc hostaddr=" + ip + " sslmode=verify-full sslrootcert=" + caFile,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    assertEquals(0, verified.exit(), verified.output());
    try (Connection c = tls.toPod(tls.get().getStatus().currentPrimary)) {
      assertEquals("true", one(c, "SELECT bool_and(s.ssl)::text FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"));
    }
  }

  /** The serial of the certificate a server presents: PostgreSQL's SSLRequest, then a TLS handshake. */
  private java.math.BigInteger servedSerial(String host) throws Exception {
    java.security.KeyStore trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", Certificates.certificate(Files.readString(caFile)));
    var factory = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    var context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.connect(new java.net.InetSocketAddress(host, 5432), 5000);
      socket.setSoTimeout(5000);
      var out = new java.io.DataOutputStream(socket.getOutputStream());
      out.writeInt(8);
      out.writeInt(80877103);  // SSLRequest
      out.flush();
      int answer = socket.getInputStream().read();
      if (answer != 'S') {
        throw new java.io.IOException("the server does not offer TLS (answered " + answer + ")");
      }
      try (var ssl = (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket(socket, host, 5432, true)) {
        ssl.startHandshake();
        return ((java.security.cert.X509Certificate) ssl.getSession().getPeerCertificates()[0]).getSerialNumber();
      }
    }
  }

  private java.util.Map<String, Integer> restartCounts() {
    java.util.Map<String, Integer> counts = new java.util.TreeMap<>();
    for (var pod : sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "tls").list().getItems()) {
      pod.getStatus().getContainerStatuses().forEach(c -> counts.put(pod.getMetadata().getName() + "/" + c.getName(),
          c.getRestartCount()));
    }
    return counts;
  }

  private String serverSecret(String key) {
    return secret("tls-server", key);
  }

  private String secret(String name, String key) {
    Secret s = sandbox.client().secrets().inNamespace(NS).withName(name).get();
    return new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.UTF_8);
  }

  private Connection connect(String host, String sslmode) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", "app");
    props.setProperty("password", appSecret("password"));
    props.setProperty("sslmode", sslmode);
    if (sslmode.startsWith("verify")) {
      props.setProperty("sslrootcert", caFile.toString());
    }
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
