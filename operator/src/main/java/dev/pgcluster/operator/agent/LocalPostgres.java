package dev.pgcluster.operator.agent;

import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.postgres.InstanceProbe;
import dev.pgcluster.operator.postgres.PostgresConnector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The agent's hands on its own PostgreSQL: over SQL on the pod address, and by signal as a last resort. */
final class LocalPostgres {
  private static final Logger LOG = LoggerFactory.getLogger(LocalPostgres.class);

  /**
   * Set (ALTER SYSTEM, so a restart keeps it) while the agent has fenced the server; its value is the
   * earlier default_transaction_read_only, then why. The operator leaves read-only alone while it is set.
   */
  static final String MARKER = dev.pgcluster.operator.ha.SyncReplication.AGENT_FENCE_MARKER;

  private final PostgresConnector connector = new PostgresConnector(Duration.ofSeconds(1), Duration.ofSeconds(2));
  private final String host;
  private final int port;
  private final String password;
  private final Path dataDirectory;
  private Connection probeSession;  // used by the agent's round only

  LocalPostgres(String host, int port, String password, Path dataDirectory) {
    this.host = host;
    this.port = port;
    this.password = password;
    this.dataDirectory = dataDirectory;
  }

  /**
   * Whether it runs as a primary, and fenced. On one session kept open between rounds: a new session
   * every round (a backend forked, a password exchange, maybe a TLS handshake) costs a loaded machine
   * time the renewal needs. A session that broke (a fence ends every session, a restart too) is
   * replaced at once, within the same probe.
   */
  GrantPolicy.Local probe() {
    for (int attempt = 1; attempt <= 2; attempt++) {
      boolean reused = probeSession != null;
      try {
        if (probeSession == null) {
          probeSession = connect();
        }
        try (Statement st = probeSession.createStatement();
            ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), coalesce(current_setting('" + MARKER
                + "', true), ''), current_setting('default_transaction_read_only')")) {
          rs.next();
          return new GrantPolicy.Local(rs.getBoolean(1) ? GrantPolicy.Role.STANDBY : GrantPolicy.Role.PRIMARY,
              !rs.getString(2).isEmpty(), "on".equals(rs.getString(3)));
        }
      } catch (SQLException e) {
        closeProbeSession();
        if (!reused) {
          break;  // a fresh session failed too: it does not answer
        }
      }
    }
    return new GrantPolicy.Local(GrantPolicy.Role.DOWN, false, false);
  }

  private void closeProbeSession() {
    if (probeSession != null) {
      try {
        probeSession.close();
      } catch (SQLException ignored) {
        // broken already
      }
      probeSession = null;
    }
  }

  /**
   * Read-only for every new transaction, then every client session ended (their open transactions
   * abort). When SQL does not get through in time, a fast shutdown of the postmaster, then an
   * immediate one. Returns how it was fenced.
   */
  String fence(String reason) {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      String before;
      try (ResultSet rs = st.executeQuery("SELECT current_setting('default_transaction_read_only')")) {
        rs.next();
        before = rs.getString(1);
      }
      st.execute("ALTER SYSTEM SET default_transaction_read_only = on");
      st.execute("ALTER SYSTEM SET " + MARKER + " = '" + (before + "|" + reason).replace("'", "''") + "'");
      st.execute("SELECT pg_reload_conf()");
      InstanceProbe.terminateClientSessions(c);
      return "read-only, client sessions ended";
    } catch (SQLException e) {
      LOG.warn("could not make PostgreSQL read-only over SQL ({}): stopping it", e.getMessage());
      return stop();
    }
  }

  /**
   * Back to what it was before the fence (read-only stays on if it was on: a switchover under way).
   * Returns the marker it removed: what read-only was before, then why it was fenced.
   */
  String unfence() throws SQLException {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      String marker;
      try (ResultSet rs = st.executeQuery("SELECT coalesce(current_setting('" + MARKER + "', true), '')")) {
        rs.next();
        marker = rs.getString(1);
      }
      if (!marker.startsWith("on|")) {
        st.execute("ALTER SYSTEM RESET default_transaction_read_only");
      }
      st.execute("ALTER SYSTEM RESET " + MARKER);
      st.execute("SELECT pg_reload_conf()");
      return marker;
    }
  }

  /** pg_reload_conf() on a session of its own (the probe's belongs to the round thread). */
  void reloadConfiguration() throws SQLException {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      st.execute("SELECT pg_reload_conf()");
    }
  }

  /** SIGINT (fast shutdown: sessions ended, no new ones), then SIGQUIT if it is still there after 2 s. */
  private String stop() {
    long pid;
    try {
      pid = Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
    } catch (IOException | RuntimeException e) {
      return "not running (no postmaster.pid)";
    }
    signal(pid, "INT");
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
      sleep(50);
    }
    if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
      signal(pid, "QUIT");
      return "stopped (immediate shutdown of postmaster " + pid + ")";
    }
    return "stopped (fast shutdown of postmaster " + pid + ")";
  }

  private static void signal(long pid, String signal) {
    try {
      // The JDK sends only SIGTERM and SIGKILL; SIGTERM is PostgreSQL's smart shutdown, which waits for
      // every client to leave. The pod shares its process namespace so that the postmaster is visible.
      new ProcessBuilder("sh", "-c", "kill -" + signal + " " + pid).inheritIO().start().waitFor();
    } catch (IOException e) {
      LOG.error("could not signal postmaster {}: {}", pid, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A new superuser session to this server, for a caller that keeps it (the metrics exporter). */
  Connection newSession() throws SQLException {
    return connect();
  }

  private Connection connect() throws SQLException {
    return connector.connect(host, port, PgClusterNames.SUPERUSER, password);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
