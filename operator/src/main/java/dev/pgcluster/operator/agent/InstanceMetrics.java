package dev.pgcluster.operator.agent;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's PostgreSQL exporter: what this instance's server says of itself (connections, locks,
 * transactions, WAL, replication), read at each scrape of /metrics on one session kept open, served on
 * the pod's address. Every series exists from the first scrape (a state or lock mode with nothing in it
 * is 0) and stays: a server that does not answer gives {@code pgcluster_pg_up 0}, the others keep their
 * last values, never NaN.
 */
public final class InstanceMetrics implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceMetrics.class);
  /** pg_stat_activity.state of client backends, as label values. */
  static final Map<String, String> STATES = Map.of("active", "active", "idle", "idle", "idle in transaction",
      "idle_in_transaction", "idle in transaction (aborted)", "idle_in_transaction_aborted");
  static final List<String> LOCK_MODES = List.of("AccessShareLock", "RowShareLock", "RowExclusiveLock",
      "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock");

  /** One reading of the server; what {@link #read} returns. */
  public record Reading(boolean inRecovery, Map<String, Long> connections, long otherConnections, long maxConnections,
      Map<String, Long> locks, long locksWaiting, long committed, long rolledBack, long deadlocks, long databaseBytes,
      long walPositionBytes, long walWrittenBytes, long standbysStreaming, long slotsInactive) {}

  /** Reads the server over a session; {@link #readServer} but for tests. */
  @FunctionalInterface
  interface Reader {
    Reading read(Connection session) throws SQLException;
  }

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Callable<Connection> sessions;
  private final Reader reader;
  private Connection session;
  private volatile boolean up;
  // Until the server first answers it is not counted as a primary (in recovery 1).
  private volatile Reading last = new Reading(true, zeros(STATES.values()), 0, 0, zeros(LOCK_MODES), 0, 0, 0, 0, 0,
      0, 0, 0, 0);
  /** The size of every database: walks their files, so read at most every SIZE_EVERY. */
  static final java.time.Duration SIZE_EVERY = java.time.Duration.ofMinutes(5);
  private long sizeReadAt = Long.MIN_VALUE;
  private long databaseBytes;
  private String lastProblem;
  private HttpServer server;

  public InstanceMetrics(Callable<Connection> sessions) {
    this.sessions = sessions;
    this.reader = this::readServer;
    register();
  }

  InstanceMetrics(Callable<Connection> sessions, Reader reader) {
    this.sessions = sessions;
    this.reader = reader;
    register();
  }

  private void register() {
    Gauge.builder("pgcluster.pg.up", () -> up ? 1 : 0).description("1 when PostgreSQL answered this scrape")
        .register(registry);
    Gauge.builder("pgcluster.pg.in.recovery", () -> last.inRecovery() ? 1 : 0)
        .description("1 for a standby (in recovery), 0 for a primary").register(registry);
    for (String state : STATES.values()) {
      Gauge.builder("pgcluster.pg.connections", () -> last.connections().get(state)).tag("state", state)
          .description("Client connections by state (pg_stat_activity)").register(registry);
    }
    Gauge.builder("pgcluster.pg.connections", () -> last.otherConnections()).tag("state", "other")
        .description("Client connections by state (pg_stat_activity)").register(registry);
    Gauge.builder("pgcluster.pg.max.connections", () -> last.maxConnections())
        .description("max_connections").register(registry);
    for (String mode : LOCK_MODES) {
      Gauge.builder("pgcluster.pg.locks", () -> last.locks().get(mode)).tag("mode", mode)
          .description("Locks held or awaited, by mode (pg_locks)").register(registry);
    }
    Gauge.builder("pgcluster.pg.locks.waiting", () -> last.locksWaiting())
        .description("Locks awaited (pg_locks, not granted)").register(registry);
    FunctionCounter.builder("pgcluster.pg.transactions.committed", this, m -> m.last.committed())
        .description("Transactions committed in every database (pg_stat_database)").register(registry);
    FunctionCounter.builder("pgcluster.pg.transactions.rolled.back", this, m -> m.last.rolledBack())
        .description("Transactions rolled back in every database (pg_stat_database)").register(registry);
    FunctionCounter.builder("pgcluster.pg.deadlocks", this, m -> m.last.deadlocks())
        .description("Deadlocks detected in every database (pg_stat_database)").register(registry);
    Gauge.builder("pgcluster.pg.database.size", () -> last.databaseBytes()).baseUnit("bytes")
        .description("Size of every database together").register(registry);
    Gauge.builder("pgcluster.pg.wal.position", () -> last.walPositionBytes()).baseUnit("bytes")
        .description("WAL position: written on a primary, replayed on a standby (bytes since 0/0)").register(registry);
    FunctionCounter.builder("pgcluster.pg.wal.written", this, m -> m.last.walWrittenBytes()).baseUnit("bytes")
        .description("WAL this server generated since its statistics were reset (pg_stat_wal)").register(registry);
    Gauge.builder("pgcluster.pg.replication.standbys", () -> last.standbysStreaming())
        .description("Standbys streaming from this server (pg_stat_replication)").register(registry);
    Gauge.builder("pgcluster.pg.replication.slots.inactive", () -> last.slotsInactive())
        .description("Replication slots with no standby connected (they hold WAL back)").register(registry);
  }

  /** The port the agent serves /metrics on (the container port "metrics"). */
  public static final int PORT = 9187;

  /** Serves /metrics on {@code address}:{@code port}. */
  public void serve(String address, int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress(address, port), 0);
    // Daemon threads only: an agent whose guard stopped must exit (and be restarted), not live on serving.
    server.setExecutor(java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "metrics");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/metrics", exchange -> {
      byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    // The dispatcher thread inherits the daemon flag of the thread that starts it.
    Thread starter = new Thread(server::start, "metrics-start");
    starter.setDaemon(true);
    starter.start();
    try {
      starter.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Reads the server (one session, re-opened once when it broke) and renders every series. Only a
   * connection that fails or times out makes it down; any other error is logged once and leaves the
   * last values.
   */
  synchronized String scrape() {
    boolean answered = false;
    for (int attempt = 1; attempt <= 2 && !answered; attempt++) {
      boolean reused = session != null;
      try {
        if (session == null) {
          session = sessions.call();
          // Every statement of the exporter ends well within the session's socket timeout: a slow one
          // (the size of a large database) is cancelled by the server, not taken for a lost server.
          try (Statement st = session.createStatement()) {
            st.execute("SET statement_timeout = '1s'");
          }
        }
        last = reader.read(session);
        answered = true;
        lastProblem = null;
      } catch (SQLException e) {
        if (!connectionLost(e)) {
          answered = true;  // it answered, with an error: up, the last values stay
          if (!e.getMessage().equals(lastProblem)) {
            LOG.warn("metrics: a query of the exporter failed: {}", e.getMessage());
            lastProblem = e.getMessage();
          }
          break;
        }
        closeSession();
        if (!reused) {
          break;
        }
      } catch (Exception e) {
        closeSession();
        break;
      }
    }
    up = answered;
    return registry.scrape();
  }

  /**
   * No session, or it broke or timed out: SQLState class 08, 57014 (statement cancelled by the timeout),
   * or 57P (the server shuts down, crashed, or is starting: it ends or refuses the session).
   */
  static boolean connectionLost(SQLException e) {
    String state = e.getSQLState();
    return state == null || state.startsWith("08") || state.equals("57014") || state.startsWith("57P")
        || e.getCause() instanceof java.net.SocketTimeoutException;
  }

  private Reading readServer(Connection c) throws SQLException {
    return read(c, databaseBytes(c));
  }

  private long databaseBytes(Connection session) {
    long now = System.nanoTime();
    if (sizeReadAt != Long.MIN_VALUE && now - sizeReadAt < SIZE_EVERY.toNanos()) {
      return databaseBytes;
    }
    try (Statement st = session.createStatement();
        ResultSet rs = st.executeQuery("SELECT coalesce(sum(pg_database_size(oid)), 0)::bigint FROM pg_database"
            + " WHERE datallowconn")) {
      rs.next();
      databaseBytes = rs.getLong(1);
      sizeReadAt = now;
    } catch (SQLException e) {
      // Not again before SIZE_EVERY: a size that cannot be read in time keeps its last value.
      sizeReadAt = now;
      LOG.debug("metrics: database size not read: {}", e.getMessage());
    }
    return databaseBytes;
  }

  /** One reading in one round trip per view; works on a primary and on a standby alike. */
  static Reading read(Connection c, long databaseBytes) throws SQLException {
    try (Statement st = c.createStatement()) {
      boolean inRecovery;
      long max;
      long waiting;
      long position;
      long standbys;
      long slotsInactive;
      try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), current_setting('max_connections')::bigint,"
          + " (SELECT count(*) FROM pg_locks WHERE NOT granted),"
          + " CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn() - '0/0', 0)"
          + " ELSE pg_current_wal_lsn() - '0/0' END::bigint,"
          + " (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'),"
          + " (SELECT count(*) FROM pg_replication_slots WHERE NOT active)")) {
        rs.next();
        inRecovery = rs.getBoolean(1);
        max = rs.getLong(2);
        waiting = rs.getLong(3);
        position = rs.getLong(4);
        standbys = rs.getLong(5);
        slotsInactive = rs.getLong(6);
      }
      Map<String, Long> connections = zeros(STATES.values());
      long other = 0;
      // Not this exporter's own session, nor its locks.
      try (ResultSet rs = st.executeQuery("SELECT coalesce(state, ''), count(*) FROM pg_stat_activity"
          + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1")) {
        while (rs.next()) {
          String label = STATES.get(rs.getString(1));
          if (label == null) {
            other += rs.getLong(2);
          } else {
            connections.put(label, rs.getLong(2));
          }
        }
      }
      Map<String, Long> locks = zeros(LOCK_MODES);
      try (ResultSet rs = st.executeQuery("SELECT mode, count(*) FROM pg_locks WHERE locktype = 'relation'"
          + " AND pid IS DISTINCT FROM pg_backend_pid() GROUP BY 1")) {
        while (rs.next()) {
          if (locks.containsKey(rs.getString(1))) {  // SIReadLock (serializable) has no row of its own
            locks.put(rs.getString(1), rs.getLong(2));
          }
        }
      }
      long committed;
      long rolledBack;
      long deadlocks;
      try (ResultSet rs = st.executeQuery("SELECT coalesce(sum(xact_commit), 0)::bigint,"
          + " coalesce(sum(xact_rollback), 0)::bigint, coalesce(sum(deadlocks), 0)::bigint FROM pg_stat_database")) {
        rs.next();
        committed = rs.getLong(1);
        rolledBack = rs.getLong(2);
        deadlocks = rs.getLong(3);
      }
      long walWritten;
      try (ResultSet rs = st.executeQuery("SELECT wal_bytes::bigint FROM pg_stat_wal")) {
        walWritten = rs.next() ? rs.getLong(1) : 0;
      }
      return new Reading(inRecovery, connections, other, max, locks, waiting, committed, rolledBack, deadlocks,
          databaseBytes, position, walWritten, standbys, slotsInactive);
    }
  }

  private static Map<String, Long> zeros(java.util.Collection<String> keys) {
    Map<String, Long> out = new LinkedHashMap<>();
    keys.forEach(k -> out.put(k, 0L));
    return out;
  }

  private void closeSession() {
    if (session != null) {
      try {
        session.close();
      } catch (SQLException ignored) {
        // a broken session: nothing to close cleanly
      }
      session = null;
    }
  }

  @Override
  public synchronized void close() {
    if (server != null) {
      server.stop(0);
    }
    closeSession();
  }
}
