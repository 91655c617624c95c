package dev.pgcluster.operator.logical;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** pglogical on the primary's application database: what it holds, and the plan's steps carried out. */
public final class LogicalSql {
  private LogicalSql() {}

  /** The replication sets a subscription receives: rows, inserts-only tables, and DDL sent through pglogical. */
  static final String SETS = "ARRAY['default', 'default_insert_only', 'ddl_sql']";

  public static LogicalPlan.Observed observe(Connection c) throws SQLException {
    try (Statement st = c.createStatement()) {
      boolean preloaded;
      try (ResultSet rs = st.executeQuery("SELECT current_setting('shared_preload_libraries')")) {
        rs.next();
        preloaded = Arrays.stream(rs.getString(1).split(",")).map(String::trim).anyMatch("pglogical"::equals);
      }
      boolean extension;
      try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_extension WHERE extname = 'pglogical'")) {
        rs.next();
        extension = rs.getInt(1) > 0;
      }
      Map<String, Boolean> tables = new TreeMap<>();
      try (ResultSet rs = st.executeQuery("SELECT c.oid::regclass::text, EXISTS (SELECT 1 FROM pg_constraint k"
          + " WHERE k.conrelid = c.oid AND k.contype = 'p') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog',"
          + " 'information_schema', 'pglogical') AND n.nspname NOT LIKE 'pg_toast%'")) {
        while (rs.next()) {
          tables.put(rs.getString(1), rs.getBoolean(2));
        }
      }
      if (!extension) {
        return new LogicalPlan.Observed(preloaded, false, null, tables, Set.of(), Map.of());
      }
      String node = null;
      try (ResultSet rs = st.executeQuery("SELECT n.node_name FROM pglogical.local_node l"
          + " JOIN pglogical.node n ON n.node_id = l.node_id")) {
        if (rs.next()) {
          node = rs.getString(1);
        }
      }
      Set<String> published = new TreeSet<>();
      try (ResultSet rs = st.executeQuery("SELECT t.set_reloid::regclass::text FROM pglogical.replication_set_table t"
          + " JOIN pglogical.replication_set s ON s.set_id = t.set_id WHERE s.set_name = 'default'")) {
        while (rs.next()) {
          published.add(rs.getString(1));
        }
      }
      Map<String, String> subscriptions = new LinkedHashMap<>();
      if (node != null) {
        try (ResultSet rs = st.executeQuery("SELECT subscription_name, status FROM pglogical.show_subscription_status()"
            + " ORDER BY 1")) {
          while (rs.next()) {
            subscriptions.put(rs.getString(1), rs.getString(2));
          }
        }
      }
      return new LogicalPlan.Observed(preloaded, true, node, tables, published, subscriptions);
    }
  }

  /** A pglogical slot on this server: its subscriber streams from it (active), confirmed up to confirmedLsn. */
  public record Slot(String name, boolean active, long lagBytes, String confirmedLsn) {}

  public static java.util.List<Slot> slots(Connection c) throws SQLException {
    java.util.List<Slot> slots = new java.util.ArrayList<>();
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT slot_name, active,"
        + " coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint,"
        + " coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots"
        + " WHERE plugin = 'pglogical_output' AND database = current_database()"
        // A slot whose WAL is gone (max_slot_wal_keep_size) streams nothing: as good as missing.
        + " AND wal_status IS DISTINCT FROM 'lost' ORDER BY 1")) {
      while (rs.next()) {
        slots.add(new Slot(rs.getString(1), rs.getBoolean(2), rs.getLong(3), rs.getString(4)));
      }
    }
    return slots;
  }

  /** Creates a subscriber's slot again (after a failover); returns the position it begins at. */
  public static String recreateSlot(Connection c, String name) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(
        "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pglogical_output')")) {
      st.setString(1, name);
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  /** The conflict rule this server's configuration holds now (what a worker started now reads). */
  public static String conflictResolution(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_setting('pglogical.conflict_resolution', true)")) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** Stops and starts the subscription's apply worker: it reads its settings again. */
  public static void restartWorker(Connection c, String subscription) throws SQLException {
    try (PreparedStatement off = c.prepareStatement(
            "SELECT pglogical.alter_subscription_disable(subscription_name := ?, immediate := true)");
        PreparedStatement on = c.prepareStatement(
            "SELECT pglogical.alter_subscription_enable(subscription_name := ?, immediate := true)")) {
      off.setString(1, subscription);
      off.execute();
      on.setString(1, subscription);
      on.execute();
    }
  }

  public static void createExtension(Connection c) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute("CREATE EXTENSION IF NOT EXISTS pglogical");
    }
  }

  /** @param dsn how this node is reached (pglogical uses it for a subscription's initial copy into it) */
  public static void createNode(Connection c, String name, String dsn) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("SELECT pglogical.create_node(node_name := ?, dsn := ?)")) {
      st.setString(1, name);
      st.setString(2, dsn);
      st.execute();
    }
  }

  public static void publish(Connection c, String table) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(
        "SELECT pglogical.replication_set_add_table(set_name := 'default', relation := ?::regclass,"
            + " synchronize_data := false)")) {
      st.setString(1, table);
      st.execute();
    }
  }

  /** Changes that came here from another node are not forwarded (forward_origins empty): no loops. */
  public static void subscribe(Connection c, String name, String providerDsn, boolean copyData) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("SELECT pglogical.create_subscription(subscription_name := ?,"
        + " provider_dsn := ?, replication_sets := " + SETS + ", synchronize_structure := false,"
        + " synchronize_data := ?, forward_origins := '{}')")) {
      st.setString(1, name);
      st.setString(2, providerDsn);
      st.setBoolean(3, copyData);
      st.execute();
    }
  }

  /** Drops the subscription here and, when the provider can be reached, its slot there. */
  public static void unsubscribe(Connection c, String name) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(
        "SELECT pglogical.drop_subscription(subscription_name := ?, ifexists := true)")) {
      st.setString(1, name);
      st.execute();
    }
  }

  /**
   * A libpq connection string: values quoted, and keepalives so that a provider that went silent (a
   * partition) is given up in about 15 s and reconnected to, rather than waited on.
   */
  public static String dsn(String host, int port, String database, String user, String password) {
    // connect_timeout below the operator's own statement timeout: an unreachable provider fails the
    // statement with pglogical's reason rather than the operator's session timing out first.
    return "host=" + quote(host) + " port=" + port + " dbname=" + quote(database) + " user=" + quote(user)
        + " password=" + quote(password) + " connect_timeout=3 keepalives=1 keepalives_idle=5"
        + " keepalives_interval=2 keepalives_count=3";
  }

  /**
   * A message without the password of a connection string in it: pglogical's connection errors quote
   * the whole DSN ("dsn was: ..."), and such a message goes to the status, an event and the log.
   */
  public static String withoutPasswords(String message) {
    return message == null ? null
        : message.replaceAll("password\\s*=\\s*'(?:[^'\\\\]|\\\\.)*'", "password=<hidden>")
            .replaceAll("password\\s*=\\s*[^\\s']+", "password=<hidden>");
  }

  private static String quote(String value) {
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
