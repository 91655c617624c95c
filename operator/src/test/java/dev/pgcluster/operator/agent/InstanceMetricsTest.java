package dev.pgcluster.operator.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/**
 * The exporter's series without a server: the reading is scripted (the answering server itself runs in
 * MonitoringE2ETest).
 */
class InstanceMetricsTest {
  @Test
  void aServerThatDoesNotAnswerIsDownWithEverySeriesThereAndNoNaN() {
    try (InstanceMetrics metrics = new InstanceMetrics(() -> {
      throw new SQLException("Connection refused");
    })) {
      String scrape = metrics.scrape();
      assertTrue(scrape.contains("pgcluster_pg_up 0.0"), scrape);
      assertTrue(scrape.contains("pgcluster_pg_in_recovery 1.0"), "not a primary before its first answer: " + scrape);
      for (String state : InstanceMetrics.STATES.values()) {
        assertTrue(scrape.contains("pgcluster_pg_connections{state=\"" + state + "\"} 0.0"), scrape);
      }
      for (String mode : InstanceMetrics.LOCK_MODES) {
        assertTrue(scrape.contains("pgcluster_pg_locks{mode=\"" + mode + "\"} 0.0"), scrape);
      }
      assertTrue(scrape.contains("pgcluster_pg_transactions_committed_total 0.0"), scrape);
      assertTrue(scrape.contains("pgcluster_pg_wal_written_bytes_total 0.0"), scrape);
      assertFalse(scrape.lines().anyMatch(l -> !l.startsWith("#") && l.endsWith("NaN")), scrape);
    }
  }

  @Test
  void aServerLostAfterAnsweringIsDownWithItsLastValues() {
    Deque<Object> sessions = new ArrayDeque<>();
    Deque<Object> readings = new ArrayDeque<>();
    Callable<Connection> opener = () -> next(sessions, Connection.class);
    try (InstanceMetrics metrics = new InstanceMetrics(opener, session -> next(readings, InstanceMetrics.Reading.class))) {
      sessions.add(session());
      readings.add(reading(42, 3));
      String answered = metrics.scrape();
      assertTrue(answered.contains("pgcluster_pg_up 1.0"), answered);
      assertTrue(answered.contains("pgcluster_pg_in_recovery 0.0"), answered);
      assertTrue(answered.contains("pgcluster_pg_transactions_committed_total 42.0"), answered);
      assertTrue(answered.contains("pgcluster_pg_connections{state=\"active\"} 3.0"), answered);

      // The session breaks, and the new one is refused: down, the last values stay.
      readings.add(new SQLException("terminating connection due to administrator command", "57P01"));
      sessions.add(new SQLException("Connection refused", "08001"));
      String lost = metrics.scrape();
      assertTrue(lost.contains("pgcluster_pg_up 0.0"), lost);
      assertTrue(lost.contains("pgcluster_pg_in_recovery 0.0"), lost);
      assertTrue(lost.contains("pgcluster_pg_transactions_committed_total 42.0"), lost);
      assertTrue(lost.contains("pgcluster_pg_connections{state=\"active\"} 3.0"), lost);
      assertFalse(lost.lines().anyMatch(l -> !l.startsWith("#") && l.endsWith("NaN")), lost);
    }
  }

  @Test
  void aQueryErrorThatIsNotALostConnectionLeavesItUpWithTheLastValues() {
    Deque<Object> sessions = new ArrayDeque<>();
    Deque<Object> readings = new ArrayDeque<>();
    try (InstanceMetrics metrics = new InstanceMetrics(() -> next(sessions, Connection.class),
        session -> next(readings, InstanceMetrics.Reading.class))) {
      sessions.add(session());
      readings.add(reading(7, 1));
      metrics.scrape();
      readings.add(new SQLException("relation \"pg_stat_wal\" does not exist", "42P01"));
      String scrape = metrics.scrape();
      assertTrue(scrape.contains("pgcluster_pg_up 1.0"), scrape);
      assertTrue(scrape.contains("pgcluster_pg_transactions_committed_total 7.0"), scrape);
      // The same session answers the next scrape: no new one was opened.
      readings.add(reading(9, 1));
      scrape = metrics.scrape();
      assertTrue(scrape.contains("pgcluster_pg_transactions_committed_total 9.0"), scrape);
      assertTrue(sessions.isEmpty());
    }
  }

  @Test
  void onlyALostOrTimedOutConnectionCountsAsDown() {
    assertTrue(InstanceMetrics.connectionLost(new SQLException("refused", "08001")));
    assertTrue(InstanceMetrics.connectionLost(new SQLException("canceled", "57014")));
    assertTrue(InstanceMetrics.connectionLost(new SQLException("the database system is starting up", "57P03")));
    assertTrue(InstanceMetrics.connectionLost(new SQLException("no state")));
    assertTrue(InstanceMetrics.connectionLost(new SQLException("timeout", "XX000",
        new java.net.SocketTimeoutException("Read timed out"))));
    assertFalse(InstanceMetrics.connectionLost(new SQLException("no such relation", "42P01")));
    assertFalse(InstanceMetrics.connectionLost(new SQLException("permission denied", "42501")));
  }

  private static <T> T next(Deque<Object> script, Class<T> type) throws SQLException {
    Object next = script.poll();
    if (next instanceof SQLException e) {
      throw e;
    }
    if (next == null) {
      throw new AssertionError("nothing scripted for " + type.getSimpleName());
    }
    return type.cast(next);
  }

  private static InstanceMetrics.Reading reading(long committed, long active) {
    Map<String, Long> connections = new LinkedHashMap<>();
    InstanceMetrics.STATES.values().forEach(s -> connections.put(s, 0L));
    connections.put("active", active);
    Map<String, Long> locks = new LinkedHashMap<>();
    InstanceMetrics.LOCK_MODES.forEach(m -> locks.put(m, 0L));
    return new InstanceMetrics.Reading(false, connections, 0, 100, locks, 0, committed, 0, 0, 8_000_000, 1_000, 500,
        2, 0);
  }

  /** A session whose statements do nothing (the reader is scripted); closing it does nothing. */
  private static Connection session() {
    java.sql.Statement statement = (java.sql.Statement) java.lang.reflect.Proxy.newProxyInstance(
        java.sql.Statement.class.getClassLoader(), new Class<?>[] {java.sql.Statement.class},
        (proxy, method, args) -> method.getReturnType() == boolean.class ? false : null);
    return (Connection) java.lang.reflect.Proxy.newProxyInstance(Connection.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, method, args) -> method.getName().equals("createStatement")
            ? statement : method.getReturnType() == boolean.class ? false : null);
  }
}
