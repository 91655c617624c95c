package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.fail;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One pod of a rendered cluster, run by hand the way a kubelet would: the ConfigMaps written to
 * directories, the container environment as rendered, {@code bootstrap.sh} to completion, then
 * {@code run.sh} in the background, as the unprivileged {@code postgres} user when the test runs as
 * root. Paths differ from the container's only in their prefix, which the scripts take from the env.
 */
final class ScriptPod implements AutoCloseable {
  static final String SUPERUSER_PASSWORD = "super-secret-1";
  static final String REPLICATION_PASSWORD = "repl-secret-1";
  static final String APP_PASSWORD = "app-secret-1";
  static final Path PG_BIN = postgresBin();

  final String name;
  final String ip;
  final Path root;
  final Path data;
  private final Path config;
  private final Path topology;
  private final Path socket;
  private final Map<String, String> env = new LinkedHashMap<>();
  private Process postgres;
  private Path postgresLog;

  ScriptPod(Path base, PgCluster cluster, String name, String ip) throws IOException {
    this.name = name;
    this.ip = ip;
    this.root = base.resolve(name);
    this.data = root.resolve("data/pgdata");
    this.config = root.resolve("config");
    this.topology = root.resolve("topology");
    this.socket = root.resolve("socket");
    for (Path dir : List.of(root.resolve("data"), config, topology, socket)) {
      Files.createDirectories(dir);
    }
    writeConfigMap(config, ConfigMapRenderer.config(cluster));
    env.put("PATH", PG_BIN + ":/usr/bin:/bin");
    env.put("HOME", root.toString());
    env.put("LANG", "C.UTF-8");
    env.put("POD_NAME", name);
    env.put("POD_IP", ip);
    env.put("PGDATA", data.toString());
    env.put("PGPORT", "5432");
    env.put("CONFIG_DIR", config.toString());
    env.put("TOPOLOGY_DIR", topology.toString());
    env.put("SOCKET_DIR", socket.toString());
    env.put("REPLICATION_SLOTS", "true");
    env.put("PG_REPLICATION_USER", "replication");
    env.put("PG_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD);
    env.put("PG_REPLICATION_PASSWORD", REPLICATION_PASSWORD);
    env.put("APP_DATABASE", cluster.getSpec().bootstrap.database);
    env.put("APP_OWNER", cluster.getSpec().bootstrap.owner);
    env.put("APP_PASSWORD", APP_PASSWORD);
    env.put("CLONE_WAIT_SECONDS", "20");
    StatefulSetRenderer.env(cluster).stream()
        .filter(e -> e.getName().equals("DELAYED_FROM_ORDINAL") || e.getName().equals("APPLY_DELAY"))
        .forEach(e -> env.put(e.getName(), e.getValue()));
  }

  /** The topology ConfigMap as the operator renders it from the Lease, plus where -rw points now. */
  void topology(PgCluster cluster, String primary, boolean initialized, String primaryHost) throws IOException {
    writeConfigMap(topology, ConfigMapRenderer.topology(cluster, primary, initialized, 1));
    env.put("PRIMARY_HOST", primaryHost);
  }

  record Result(int exitCode, String output) {}

  /** Runs the init container's script to completion. */
  Result bootstrap() throws IOException, InterruptedException {
    handOverToPostgresUser();
    Path log = root.resolve("bootstrap.log");
    Process p = start(List.of("bash", config.resolve("bootstrap.sh").toString()), log);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(name + ": bootstrap.sh did not finish in 120 s:\n" + Files.readString(log));
    }
    return new Result(p.exitValue(), Files.readString(log));
  }

  /** Runs the main container's script; returns once PostgreSQL accepts connections. */
  void start() throws IOException, InterruptedException {
    handOverToPostgresUser();
    postgresLog = root.resolve("postgres.log");
    postgres = start(List.of("bash", config.resolve("run.sh").toString()), postgresLog);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (!postgres.isAlive()) {
        fail(name + ": postgres exited with " + postgres.exitValue() + ":\n" + Files.readString(postgresLog));
      }
      Process ready = new ProcessBuilder(PG_BIN.resolve("pg_isready").toString(), "-q", "-h", ip, "-p", "5432")
          .start();
      if (ready.waitFor() == 0) {
        return;
      }
      Thread.sleep(100);
    }
    fail(name + ": postgres not ready after 60 s:\n" + Files.readString(postgresLog));
  }

  /** What the agent does after its first renewal of the primary Lease: lifts the fence run.sh started with. */
  void liftStartFence() throws SQLException, InterruptedException {
    String marker = dev.pgcluster.operator.ha.SyncReplication.AGENT_FENCE_MARKER;
    try (Connection c = connect("postgres"); java.sql.Statement s = c.createStatement()) {
      s.execute("ALTER SYSTEM RESET default_transaction_read_only");
      s.execute("ALTER SYSTEM RESET " + marker);
      s.execute("SELECT pg_reload_conf()");
      // The reload reaches new sessions a moment later.
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (System.nanoTime() < deadline) {
        try (Connection n = connect("postgres"); java.sql.Statement ns = n.createStatement();
            java.sql.ResultSet rs = ns.executeQuery("SHOW default_transaction_read_only")) {
          if (rs.next() && "off".equals(rs.getString(1))) {
            return;
          }
        }
        Thread.sleep(50);
      }
    }
    fail(name + ": still read-only 10 s after the start fence was lifted");
  }

  /** SIGKILL: nothing graceful, as when a node is lost. */
  void kill() throws InterruptedException {
    if (postgres != null && postgres.isAlive()) {
      postgres.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
      postgres.destroyForcibly();
      postgres.waitFor(30, TimeUnit.SECONDS);
      // Children of a SIGKILLed postmaster notice on their own; wait until the data directory is free.
      waitForNoBackends();
    }
  }

  /** SIGINT: PostgreSQL's fast shutdown, what a pod deletion's SIGTERM amounts to for the operator. */
  void stop() throws InterruptedException, IOException {
    if (postgres != null && postgres.isAlive()) {
      new ProcessBuilder("kill", "-INT", Long.toString(postgres.pid())).start().waitFor();
      if (!postgres.waitFor(60, TimeUnit.SECONDS)) {
        postgres.destroyForcibly();
      }
    }
  }

  Connection connect(String database) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", "postgres");
    props.setProperty("password", SUPERUSER_PASSWORD);
    props.setProperty("connectTimeout", "5");
    return DriverManager.getConnection("jdbc:postgresql://" + ip + ":5432/" + database, props);
  }

  /** Runs a client binary (psql, ...) with the pod's environment; returns its exit code and output. */
  Result client(List<String> command) throws IOException, InterruptedException {
    Path log = Files.createTempFile(root, "client", ".log");
    Process p = start(command, log);
    p.waitFor(60, TimeUnit.SECONDS);
    return new Result(p.exitValue(), Files.readString(log));
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }

  private Process start(List<String> command, Path log) throws IOException {
    List<String> full = new ArrayList<>();
    if (runningAsRoot()) {
      full.addAll(List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"));
    }
    full.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().clear();
    pb.environment().putAll(env);
    return pb.start();
  }

  private void handOverToPostgresUser() throws IOException, InterruptedException {
    if (runningAsRoot()) {
      new ProcessBuilder("chown", "-R", "postgres:postgres", root.toString()).inheritIO().start().waitFor();
    }
  }

  private void waitForNoBackends() throws InterruptedException {
    Path pid = data.resolve("postmaster.pid");
    for (int i = 0; i < 100 && Files.exists(pid); i++) {
      try {
        long postmaster = Long.parseLong(Files.readAllLines(pid).get(0).trim());
        if (ProcessHandle.of(postmaster).map(ProcessHandle::isAlive).orElse(false)) {
          Thread.sleep(100);
          continue;
        }
      } catch (IOException | RuntimeException e) {
        // The file is being rewritten or removed; look again.
      }
      return;
    }
  }

  private static void writeConfigMap(Path dir, ConfigMap map) throws IOException {
    for (var entry : map.getData().entrySet()) {
      Files.writeString(dir.resolve(entry.getKey()), entry.getValue(), StandardCharsets.UTF_8);
    }
  }

  static boolean runningAsRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  /** The newest PostgreSQL server installed the Debian way; the test fails loudly without one. */
  private static Path postgresBin() {
    Path lib = Path.of("/usr/lib/postgresql");
    try (Stream<Path> versions = Files.list(lib)) {
      return versions.filter(v -> Files.isExecutable(v.resolve("bin/postgres")))
          .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())))
          .map(v -> v.resolve("bin"))
          .orElseThrow();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("no PostgreSQL server under /usr/lib/postgresql: install it "
          + "(apt-get install postgresql, as .ci/run does) to run the bootstrap script tests", e);
    }
  }

  /** A directory every pod's unprivileged user can reach, removed with everything in it. */
  static Path newBaseDirectory(String prefix) throws IOException {
    Path base = Files.createTempDirectory(Path.of("/tmp"), prefix);
    base.toFile().setReadable(true, false);
    base.toFile().setExecutable(true, false);
    return base;
  }

  /** {@code -Dpgcluster.keepTestData=true} leaves data and logs behind for a post-mortem. */
  static void deleteTree(Path base) throws IOException {
    if (Boolean.getBoolean("pgcluster.keepTestData")) {
      return;
    }
    try (Stream<Path> walk = Files.walk(base)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
