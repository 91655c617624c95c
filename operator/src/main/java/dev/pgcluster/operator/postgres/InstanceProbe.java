package dev.pgcluster.operator.postgres;

import dev.pgcluster.operator.ha.ConfigFacts;
import dev.pgcluster.operator.ha.InstanceFacts;
import dev.pgcluster.operator.ha.SlotInfo;
import dev.pgcluster.operator.ha.StandbyConnection;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** The SQL that reads an instance's replication facts. All of it runs on one connection. */
public final class InstanceProbe {

  private InstanceProbe() {}

  /** Role, timeline and LSNs of the instance behind {@code connection}. */
  public static InstanceFacts read(Connection connection) throws SQLException {
    try (Statement st = connection.createStatement()) {
      boolean inRecovery;
      try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
        rs.next();
        inRecovery = rs.getBoolean(1);
      }
      long timeline;
      try (ResultSet rs = st.executeQuery("SELECT timeline_id FROM pg_control_checkpoint()")) {
        rs.next();
        timeline = rs.getLong(1);
      }
      if (!inRecovery) {
        // The timeline of the WAL being written: the checkpoint's lags behind a promotion.
        try (ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text,"
            + " ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int")) {
          rs.next();
          return new InstanceFacts(false, rs.getLong(2), rs.getString(1), null, null);
        }
      }
      String sql = "SELECT " + WAL_HELD + "::text, pg_last_wal_replay_lsn()::text,"
          + " CASE WHEN " + WAL_HELD + " = pg_last_wal_replay_lsn() THEN 0"
          + " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END,"
          + " (SELECT received_tli FROM pg_stat_wal_receiver LIMIT 1),"
          + " current_setting('primary_conninfo') = ''";
      try (ResultSet rs = st.executeQuery(sql)) {
        rs.next();
        long receivedTimeline = rs.getLong(4);
        return new InstanceFacts(true, receivedTimeline > 0 ? receivedTimeline : timeline,
            rs.getString(1), rs.getString(2), rs.getDouble(3), rs.getBoolean(5));
      }
    }
  }

  /** The custom setting that carries the rendered configuration's hash into the server. */
  public static final String CONFIG_HASH_SETTING = "pgcluster.config_hash";

  /**
   * The configuration the server has loaded against the file on disk. pg_file_settings parses the
   * files as they are now; pg_settings shows what is in effect and what waits for a restart.
   */
  public static ConfigFacts config(Connection connection) throws SQLException {
    try (Statement st = connection.createStatement()) {
      String loaded;
      try (ResultSet rs = st.executeQuery("SELECT current_setting('" + CONFIG_HASH_SETTING + "', true)")) {
        rs.next();
        loaded = rs.getString(1);
      }
      List<ConfigFacts.PendingSetting> pending = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("SELECT s.name, current_setting(s.name),"
          + " (SELECT f.setting FROM pg_file_settings f WHERE f.name = s.name ORDER BY f.seqno DESC LIMIT 1)"
          + " FROM pg_settings s WHERE s.pending_restart ORDER BY s.name")) {
        while (rs.next()) {
          pending.add(new ConfigFacts.PendingSetting(rs.getString(1), rs.getString(2), rs.getString(3)));
        }
      }
      String onDisk = null;
      List<String[]> failed = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("SELECT f.name, f.setting, f.error, f.sourcefile, f.sourceline,"
          + " s.context = 'postmaster' FROM pg_file_settings f LEFT JOIN pg_settings s ON s.name = f.name"
          + " ORDER BY f.seqno")) {
        while (rs.next()) {
          if (rs.getString(3) != null) {
            String where = rs.getString(4) == null ? "" : rs.getString(4).replaceAll(".*/", "") + ":" + rs.getInt(5) + ": ";
            failed.add(new String[] {rs.getString(1), where + (rs.getString(1) == null ? ""
                : rs.getString(1) + " = '" + rs.getString(2) + "': ") + rs.getString(3), rs.getBoolean(6) ? "t" : "f"});
          } else if (CONFIG_HASH_SETTING.equals(rs.getString(1))) {
            onDisk = rs.getString(2);
          }
        }
      }
      // A changed restart-only setting shows as "setting could not be applied" too: once the file is
      // loaded, it is pending a restart if valid; before that, invalid values cannot be told apart.
      boolean fileLoaded = onDisk != null && onDisk.equals(loaded);
      List<String> errors = new ArrayList<>();
      for (String[] f : failed) {
        boolean restartOnly = "t".equals(f[2]) && f[1].endsWith("setting could not be applied");
        boolean pendingRestart = pending.stream().anyMatch(p -> p.name().equals(f[0]));
        if (!(restartOnly && (pendingRestart || !fileLoaded))) {
          errors.add(f[1]);
        }
      }
      // pg_hba.conf as it is on disk now: PostgreSQL keeps the old rules on a reload that finds an
      // error, and refuses to start with it.
      try (ResultSet rs = st.executeQuery("SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL"
          + " ORDER BY line_number")) {
        while (rs.next()) {
          errors.add("pg_hba.conf:" + rs.getInt(1) + ": " + rs.getString(2));
        }
      }
      return new ConfigFacts(loaded, onDisk, pending, errors);
    }
  }

  /** Make the server re-read its configuration files (pg_hba.conf too). */
  public static void reloadConfiguration(Connection connection) throws SQLException {
    try (Statement st = connection.createStatement()) {
      st.execute("SELECT pg_reload_conf()");
    }
  }

  /** Live values of the settings the operator manages on the primary ("" for an unknown custom one). */
  public static java.util.Map<String, String> settings(Connection primary, java.util.Collection<String> names)
      throws SQLException {
    java.util.Map<String, String> values = new java.util.LinkedHashMap<>();
    try (var ps = primary.prepareStatement("SELECT coalesce(current_setting(?, true), '')")) {
      for (String name : names) {
        ps.setString(1, name);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          values.put(name, rs.getString(1));
        }
      }
    }
    return values;
  }

  /** ALTER SYSTEM (persisted in postgresql.auto.conf, which wins over the rendered file), then reload. */
  public static void alterSystem(Connection primary, java.util.Map<String, String> settings) throws SQLException {
    try (Statement st = primary.createStatement()) {
      for (var e : settings.entrySet()) {
        if (!e.getKey().matches("[a-z_]+")) {
          throw new IllegalArgumentException("not a setting name: " + e.getKey());
        }
        st.execute("ALTER SYSTEM SET " + e.getKey() + " = '" + e.getValue().replace("'", "''") + "'");
      }
      st.execute("SELECT pg_reload_conf()");
    }
  }

  /**
   * Whether the configuration files (not this session's settings) carry a fence marker: what the agent
   * has written with ALTER SYSTEM, even before the server reloaded it.
   */
  public static boolean fenceMarkerWritten(Connection c, String marker) throws SQLException {
    try (var ps = c.prepareStatement("SELECT coalesce((SELECT setting FROM pg_file_settings WHERE name = ?"
        + " ORDER BY seqno DESC LIMIT 1), '') <> ''")) {
      ps.setString(1, marker);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /** The primary's view of its standbys. */
  public static List<StandbyConnection> standbys(Connection primary) throws SQLException {
    List<StandbyConnection> rows = new ArrayList<>();
    String sql = "SELECT application_name, state, sync_state, replay_lsn::text,"
        + " pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint FROM pg_stat_replication";
    try (Statement st = primary.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        rows.add(new StandbyConnection(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
            rs.getObject(5) == null ? null : rs.getLong(5)));
      }
    }
    return rows;
  }

  /**
   * The primary's archiving. The archive command's error file is read only while the latest attempt
   * failed (pg_read_file with missing_ok, relative to the data directory).
   */
  public static dev.pgcluster.operator.ha.ArchiveFacts archive(Connection primary, String errorFile) throws SQLException {
    String sql = "SELECT current_setting('archive_mode') <> 'off', archived_count, last_archived_wal,"
        + " last_archived_time, failed_count, last_failed_wal, last_failed_time,"
        + " (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),"
        + " CASE WHEN last_failed_time > coalesce(last_archived_time, '-infinity')"
        + " THEN pg_read_file(?, 0, 2000, true) END FROM pg_stat_archiver";
    try (var ps = primary.prepareStatement(sql)) {
      ps.setString(1, errorFile);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        java.sql.Timestamp archived = rs.getTimestamp(4);
        java.sql.Timestamp failed = rs.getTimestamp(7);
        return new dev.pgcluster.operator.ha.ArchiveFacts(rs.getBoolean(1), rs.getLong(2), rs.getString(3),
            archived == null ? null : archived.toInstant(), rs.getLong(5), rs.getString(6),
            failed == null ? null : failed.toInstant(), rs.getLong(8), rs.getString(9), java.time.Duration.ZERO);
      }
    }
  }

  /** Physical slots on the primary whose name carries the operator's prefix. */
  public static List<SlotInfo> operatorSlots(Connection primary, String prefix) throws SQLException {
    List<SlotInfo> slots = new ArrayList<>();
    String sql = "SELECT slot_name, active, wal_status FROM pg_replication_slots"
        + " WHERE slot_type = 'physical' AND slot_name LIKE ?";
    try (var ps = primary.prepareStatement(sql)) {
      ps.setString(1, prefix + "%");
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          slots.add(new SlotInfo(rs.getString(1), rs.getBoolean(2), rs.getString(3)));
        }
      }
    }
    return slots;
  }

  /** Ends every client session but this one (replication connections stay). */
  public static void terminateClientSessions(Connection c) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
          + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    }
  }

  public static String currentLsn(Connection primary) throws SQLException {
    try (Statement st = primary.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text")) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** Whether a standby has replayed WAL up to {@code lsn}. */
  public static boolean replayedUpTo(Connection standby, String lsn) throws SQLException {
    try (var ps = standby.prepareStatement("SELECT pg_last_wal_replay_lsn() >= ?::pg_lsn")) {
      ps.setString(1, lsn);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /**
   * Cut a standby off its upstream: with primary_conninfo empty (a reload restarts the WAL receiver)
   * it receives nothing more, so it can no longer acknowledge a former primary's synchronous commits.
   */
  public static void detachFromUpstream(Connection standby) throws SQLException {
    try (Statement st = standby.createStatement()) {
      st.execute("ALTER SYSTEM SET primary_conninfo = ''");
      st.execute("SELECT pg_reload_conf()");
    }
  }

  /** Undo {@link #detachFromUpstream}: the role file's primary_conninfo (the -rw Service) applies again. */
  public static void reattachToUpstream(Connection standby) throws SQLException {
    try (Statement st = standby.createStatement()) {
      st.execute("ALTER SYSTEM RESET primary_conninfo");
      st.execute("SELECT pg_reload_conf()");
    }
  }

  /** Whether the standby's WAL receiver runs. */
  public static boolean receiving(Connection standby) throws SQLException {
    try (Statement st = standby.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_wal_receiver WHERE pid IS NOT NULL")) {
      rs.next();
      return rs.getInt(1) > 0;
    }
  }

  /**
   * How far a standby's WAL goes: received or replayed, whichever is further. The receive position
   * alone is not enough: when the WAL receiver starts again on a new timeline it restarts from the
   * beginning of a segment, behind WAL the standby already has.
   */
  static final String WAL_HELD = "GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())";

  /** How far a standby's WAL goes (see {@link #WAL_HELD}). */
  public static String receivedLsn(Connection standby) throws SQLException {
    try (Statement st = standby.createStatement();
        ResultSet rs = st.executeQuery("SELECT " + WAL_HELD + "::text")) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** Ends recovery and waits (up to 30 s) until the instance accepts writes. */
  public static void promote(Connection standby) throws SQLException {
    try (Statement st = standby.createStatement();
        ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery() AND NOT pg_promote(true, 30)")) {
      rs.next();
      if (rs.getBoolean(1)) {
        throw new SQLException("pg_promote() did not complete within 30 s");
      }
    }
  }

  public static void createSlot(Connection primary, String slot) throws SQLException {
    // immediately_reserve = true: WAL is kept from now on, even before the standby first connects.
    try (var ps = primary.prepareStatement(
        "SELECT pg_create_physical_replication_slot(?, true) WHERE NOT EXISTS"
            + " (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)")) {
      ps.setString(1, slot);
      ps.setString(2, slot);
      ps.execute();
    }
  }

  public static void dropSlot(Connection primary, String slot) throws SQLException {
    try (var ps = primary.prepareStatement(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            + " WHERE slot_name = ? AND NOT active")) {
      ps.setString(1, slot);
      ps.execute();
    }
  }
}
