package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;

/** One PgCluster in a sandbox, seen the way a user or a test sees it: status, Services, SQL. */
final class SandboxCluster {
  static final String PASSWORD_KEY = "password";
  final Sandbox sandbox;
  final String namespace;
  final String name;
  final PgClusterNames names;

  SandboxCluster(Sandbox sandbox, String namespace, String name) {
    this.sandbox = sandbox;
    this.namespace = namespace;
    this.name = name;
    this.names = PgClusterNames.of(name);
  }

  /**
   * The fixture every end-to-end class starts from: a sandbox, the operator installed by its Helm chart,
   * the manifest applied in {@code namespace}, and {@code ready} instances Ready. The sandbox is closed
   * again if any of that fails.
   */
  static SandboxCluster start(String namespace, String manifest, int ready, Duration timeout) throws Exception {
    Sandbox sandbox = Sandbox.start();
    try {
      sandbox.installOperator();
      PgCluster applied = sandbox.apply(namespace, manifest);
      SandboxCluster cluster = new SandboxCluster(sandbox, namespace, applied.getMetadata().getName());
      cluster.awaitReadyInstances(ready, timeout);
      cluster.awaitWritable();
      return cluster;
    } catch (Exception | AssertionError e) {
      closeAndCheckNoLeftovers(sandbox);
      throw e;
    }
  }

  /**
   * A primary starts fenced (read-only) until its agent's first renewal of the primary Lease, which on a
   * loaded machine can come after the cluster reads Healthy. Waits until a new session through the -rw
   * Service may write.
   */
  void awaitWritable() throws InterruptedException {
    Await.until(Duration.ofSeconds(60), name + "'s primary taking writes", () -> {
      try (Connection c = viaService(names.readWriteService()); Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SHOW default_transaction_read_only")) {
        return rs.next() && "off".equals(rs.getString(1));
      } catch (SQLException e) {
        return false;
      }
    });
  }

  PgCluster get() {
    return sandbox.client().resources(PgCluster.class).inNamespace(namespace).withName(name).get();
  }

  PgCluster awaitReadyInstances(int ready, Duration timeout) throws InterruptedException {
    return Await.until(timeout, name + " with " + ready + " ready instances and phase Healthy", this::get,
        c -> c != null && c.getStatus() != null && c.getStatus().readyInstances != null
            && c.getStatus().readyInstances == ready && c.getStatus().phase != null
            && c.getStatus().phase == dev.pgcluster.operator.api.v1alpha1.ClusterPhase.Healthy);
  }

  String password(String secret) {
    Secret s = sandbox.client().secrets().inNamespace(namespace).withName(secret).get();
    return new String(Base64.getDecoder().decode(s.getData().get(PASSWORD_KEY)), StandardCharsets.UTF_8);
  }

  /** The application owner through a Service, as an application would connect. */
  Connection viaService(String service) throws SQLException {
    return connect(sandbox.serviceAddress(namespace, service), "app", "app", password(names.appSecret()));
  }

  /** The superuser straight to one pod (application database), as an administrator would. */
  Connection toPod(String pod) throws SQLException {
    return connect(sandbox.podIp(namespace, pod), "app", PgClusterNames.SUPERUSER,
        password(names.superuserSecret()));
  }

  static Connection connect(String host, String database, String user, String password) throws SQLException {
    return connect(host, database, user, password, 5, 30);
  }

  static Connection connect(String host, String database, String user, String password, int connectTimeout,
      int socketTimeout) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password);
    props.setProperty("connectTimeout", Integer.toString(connectTimeout));
    props.setProperty("socketTimeout", Integer.toString(socketTimeout));
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":5432/" + database, props);
  }

  /** Where a claim's volume lives on this machine: its PersistentVolume's hostPath (the sandbox provisioner's). */
  java.nio.file.Path claimDirectory(String claim) {
    var pvc = sandbox.client().persistentVolumeClaims().inNamespace(namespace).withName(claim).get();
    var pv = sandbox.client().persistentVolumes().withName(pvc.getSpec().getVolumeName()).get();
    return java.nio.file.Path.of(pv.getSpec().getHostPath().getPath());
  }

  /**
   * With spec.walStorage: the pod's pg_wal is a link to pg_wal on its own WAL claim (pgwal-POD), which
   * holds the WAL segments, and its data claim holds none.
   */
  void assertWalOnItsVolume(String pod) throws java.io.IOException {
    java.nio.file.Path link = claimDirectory("pgdata-" + pod).resolve("pgdata/pg_wal");
    java.nio.file.Path wal = claimDirectory("pgwal-" + pod).resolve("pg_wal");
    org.junit.jupiter.api.Assertions.assertTrue(java.nio.file.Files.isSymbolicLink(link), link + " is a link");
    org.junit.jupiter.api.Assertions.assertEquals(wal, java.nio.file.Files.readSymbolicLink(link), pod + "'s pg_wal");
    try (var segments = java.nio.file.Files.list(wal)) {
      org.junit.jupiter.api.Assertions.assertTrue(segments.anyMatch(f -> f.getFileName().toString()
          .matches("[0-9A-F]{24}")), "WAL segments on " + wal);
    }
  }

  static String one(Connection c, String sql) throws SQLException {
    List<String> rows = column(c, sql);
    return rows.isEmpty() ? null : rows.get(0);
  }

  static List<String> column(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      List<String> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    }
  }

  /**
   * Stops everything and checks that no process of the sandbox survived and that the API server never
   * refused the operator a request (its chart's ClusterRole was enough), for @AfterAll.
   */
  static void closeAndCheckNoLeftovers(Sandbox sandbox) {
    if (sandbox != null) {
      List<String> denials = sandbox.operatorRbacDenials();
      // Pod and control-plane logs outlive the sandbox, for a look after a failure (CI keeps target/).
      String caller = StackWalker.getInstance().walk(frames -> frames.skip(1).findFirst().orElseThrow())
          .getClassName().replaceAll(".*\\.", "");
      sandbox.saveLogs(java.nio.file.Path.of("target", "sandbox-logs", caller));
      sandbox.close();
      assertEquals(List.of(), sandbox.leftoverProcesses(), "processes of the sandbox still alive after close");
      assertEquals(List.of(), denials, "the API server refused the operator (RBAC)");
    }
  }
}
