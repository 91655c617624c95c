package dev.pgcluster.sandbox.scenario;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.sandbox.Sandbox;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.Properties;
import java.util.function.UnaryOperator;

/** What a scenario works with: the sandbox, its narrator, and short ways to reach clusters and pods. */
public final class ScenarioContext {
  public static final String NAMESPACE = "default";
  private final Sandbox sandbox;
  private final Narrator narrator;

  ScenarioContext(Sandbox sandbox, Narrator narrator) {
    this.sandbox = sandbox;
    this.narrator = narrator;
  }

  public Sandbox sandbox() {
    return sandbox;
  }

  public Narrator narrator() {
    return narrator;
  }

  /** Applies a PgCluster and waits until it is Healthy with every instance ready and its primary writable. */
  public PgCluster create(String manifest, int instances) {
    PgCluster applied = sandbox.apply(NAMESPACE, manifest);
    String name = applied.getMetadata().getName();
    narrator.say("kubectl apply: PgCluster " + name + " (" + instances + " instances)");
    awaitHealthy(name, instances, Duration.ofMinutes(4));
    return cluster(name);
  }

  public void awaitHealthy(String name, int instances, Duration timeout) {
    var ready = narrator.await(name + " Healthy with " + instances + " instances ready", timeout, () -> cluster(name),
        c -> c.getStatus() != null && c.getStatus().phase == ClusterPhase.Healthy
            && Integer.valueOf(instances).equals(c.getStatus().readyInstances));
    if (!ready.held()) {
      throw new IllegalStateException(name + " did not become Healthy");
    }
    // A primary takes writes once its agent has renewed the primary Lease (it starts read-only).
    var writable = narrator.await(name + "'s primary taking writes", Duration.ofSeconds(60), () -> {
      try (Connection c = readWrite(name)) {
        return one(c, "SHOW default_transaction_read_only");
      }
    }, "off"::equals);
    if (!writable.held()) {
      throw new IllegalStateException(name + "'s primary does not take writes");
    }
  }

  public PgCluster cluster(String name) {
    return sandbox.client().resources(PgCluster.class).inNamespace(NAMESPACE).withName(name).get();
  }

  public String primary(String name) {
    return cluster(name).getStatus().currentPrimary;
  }

  public PgCluster edit(String name, UnaryOperator<PgCluster> change) {
    return sandbox.editCluster(NAMESPACE, name, change);
  }

  /** The application's owner through the -rw Service, as an application connects. */
  public Connection readWrite(String cluster) throws SQLException {
    return readWrite(cluster, 180);
  }

  /** As above; a statement that gets no answer fails after {@code socketTimeoutSeconds} (a lost node). */
  public Connection readWrite(String cluster, int socketTimeoutSeconds) throws SQLException {
    PgClusterNames names = PgClusterNames.of(cluster);
    return connect(sandbox.serviceAddress(NAMESPACE, names.readWriteService()), "app",
        password(names.appSecret()), 5, socketTimeoutSeconds);
  }

  /** The superuser straight to one pod's address (the application database). */
  public Connection pod(String cluster, String pod) throws SQLException {
    return connect(sandbox.podIp(NAMESPACE, pod), PgClusterNames.SUPERUSER,
        password(PgClusterNames.of(cluster).superuserSecret()), 5);
  }

  /** The application's owner straight to one pod's address, as a client of that pod. */
  public Connection podAsApp(String cluster, String pod) throws SQLException {
    return connect(sandbox.podIp(NAMESPACE, pod), "app", password(PgClusterNames.of(cluster).appSecret()), 5);
  }

  public static String one(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  public static void execute(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  public String condition(String cluster, String type) {
    var c = cluster(cluster).getStatus().conditions.stream().filter(k -> type.equals(k.getType())).findFirst();
    return c.map(k -> k.getStatus() + "/" + k.getReason() + ": " + k.getMessage()).orElse("none");
  }

  private String password(String secret) {
    Secret s = sandbox.client().secrets().inNamespace(NAMESPACE).withName(secret).get();
    return new String(Base64.getDecoder().decode(s.getData().get("password")), StandardCharsets.UTF_8);
  }

  private static Connection connect(String host, String user, String password, int timeoutSeconds)
      throws SQLException {
    return connect(host, user, password, timeoutSeconds, 180);
  }

  private static Connection connect(String host, String user, String password, int timeoutSeconds,
      int socketTimeoutSeconds) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password);
    props.setProperty("connectTimeout", Integer.toString(timeoutSeconds));
    props.setProperty("socketTimeout", Integer.toString(socketTimeoutSeconds));
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":5432/app", props);
  }
}
