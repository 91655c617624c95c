package dev.pgcluster.operator.postgres;

import dev.pgcluster.operator.naming.PgClusterNames;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What the pooler needs from PostgreSQL (its role and the password lookup it calls), and the commands
 * the operator sends to PgBouncer's admin console.
 */
public final class PoolerSql {
  private static final String ROLE = PgClusterNames.POOLER_USER;
  private static final String SCHEMA = PgClusterNames.POOLER_USER;

  private PoolerSql() {}

  /**
   * The pooler's role: may log in, owns nothing, is granted only the lookup function. Its password is
   * hashed (SCRAM) by the driver: the plaintext never reaches the server, so never its log either.
   */
  public static void ensureRole(Connection superuser, String password) throws SQLException {
    try (Statement st = superuser.createStatement()) {
      st.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '" + ROLE + "')"
          + " THEN CREATE ROLE " + ROLE + " LOGIN; END IF; END $$");
      st.execute("ALTER ROLE " + ROLE + " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION");
    }
    superuser.unwrap(org.postgresql.PGConnection.class).alterUserPassword(ROLE, password.toCharArray(), "scram-sha-256");
  }

  /** The databases clients may connect to, where the lookup function must exist. */
  public static List<String> databases(Connection superuser) throws SQLException {
    List<String> names = new ArrayList<>();
    try (Statement st = superuser.createStatement();
        ResultSet rs = st.executeQuery("SELECT datname FROM pg_catalog.pg_database WHERE datallowconn ORDER BY 1")) {
      while (rs.next()) {
        names.add(rs.getString(1));
      }
    }
    return names;
  }

  /**
   * In one database: the function PgBouncer's auth_query calls. It runs as its owner (a superuser) to
   * read pg_shadow, and answers only for roles that are neither superusers nor replication roles: the
   * pooler never serves those. template1 gets it too, so databases created later have it.
   */
  public static void ensureLookup(Connection superuserInDatabase) throws SQLException {
    try (Statement st = superuserInDatabase.createStatement()) {
      st.execute("CREATE SCHEMA IF NOT EXISTS " + SCHEMA);
      st.execute("REVOKE ALL ON SCHEMA " + SCHEMA + " FROM PUBLIC");
      st.execute("GRANT USAGE ON SCHEMA " + SCHEMA + " TO " + ROLE);
      // A set, not a record: an unknown user (or a superuser) gets no row, not a row of NULLs.
      st.execute("CREATE OR REPLACE FUNCTION " + SCHEMA + ".lookup(i_username text)"
          + " RETURNS TABLE (usename name, passwd text) LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS"
          + " $$ SELECT usename, passwd FROM pg_catalog.pg_shadow"
          + " WHERE usename = i_username AND NOT usesuper AND NOT userepl $$");
      st.execute("REVOKE ALL ON FUNCTION " + SCHEMA + ".lookup(text) FROM PUBLIC");
      st.execute("GRANT EXECUTE ON FUNCTION " + SCHEMA + ".lookup(text) TO " + ROLE);
    }
  }

  /** Whether a new session here may write (the agent's fence, default_transaction_read_only, is off). */
  public static boolean takesWrites(Connection superuser) throws SQLException {
    try (Statement st = superuser.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_setting('default_transaction_read_only') = 'off'"
            + " AND NOT pg_catalog.pg_is_in_recovery()")) {
      return rs.next() && rs.getBoolean(1);
    }
  }

  /** One PgBouncer's pools and counters, summed over its databases (its admin database excepted). */
  public record PoolerStats(long clientsActive, long clientsWaiting, long serversActive, long serversIdle,
      double longestWaitSeconds, long transactions, long queries) {}

  /** SHOW POOLS and SHOW STATS, summed: what the operator exports as pgcluster_pooler_* metrics. */
  public static PoolerStats stats(PgBouncerConsole admin) throws SQLException {
    long clientsActive = 0;
    long clientsWaiting = 0;
    long serversActive = 0;
    long serversIdle = 0;
    double longestWait = 0;
    for (var pool : admin.execute("SHOW POOLS").rows()) {
      if ("pgbouncer".equals(pool.get("database"))) {
        continue;
      }
      clientsActive += number(pool.get("cl_active"));
      clientsWaiting += number(pool.get("cl_waiting"));
      serversActive += number(pool.get("sv_active"));
      serversIdle += number(pool.get("sv_idle")) + number(pool.get("sv_used"));
      longestWait = Math.max(longestWait, number(pool.get("maxwait")) + number(pool.get("maxwait_us")) / 1e6);
    }
    long transactions = 0;
    long queries = 0;
    for (var db : admin.execute("SHOW STATS").rows()) {
      if (!"pgbouncer".equals(db.get("database"))) {
        transactions += number(db.get("total_xact_count"));
        queries += number(db.get("total_query_count"));
      }
    }
    return new PoolerStats(clientsActive, clientsWaiting, serversActive, serversIdle, longestWait, transactions, queries);
  }

  private static long number(String value) {
    return value == null || value.isEmpty() ? 0 : Long.parseLong(value.strip());
  }

  /** PAUSE: waits until every server connection is released, then holds new queries until RESUME. */
  public static void pause(PgBouncerConsole admin) throws SQLException {
    admin.execute("PAUSE");
  }

  /** RECONNECT: every server connection closes once released and is opened again (PgBouncer 1.15+). */
  public static void reconnect(PgBouncerConsole admin) throws SQLException {
    admin.execute("RECONNECT");
  }

  /** KILL each database: drops its clients' and servers' connections at once; new ones wait for RESUME. */
  public static void killAll(PgBouncerConsole admin) throws SQLException {
    for (var db : admin.execute("SHOW DATABASES").rows()) {
      if (!"pgbouncer".equals(db.get("name"))) {
        admin.execute("KILL " + identifier(db.get("name")));
      }
    }
  }

  /**
   * Undoes a PAUSE and every KILL: a killed database is paused on its own and a global RESUME does not
   * reach it. Returns how many were resumed (0: a pod started after the hold, or resumed already).
   */
  public static int resume(PgBouncerConsole admin) throws SQLException {
    int resumed = 0;
    for (var db : admin.execute("SHOW DATABASES").rows()) {
      if (!"pgbouncer".equals(db.get("name")) && !"0".equals(db.get("paused"))) {
        resumed += resumeIgnoringNotPaused(admin, "RESUME " + identifier(db.get("name")));
      }
    }
    return resumed + resumeIgnoringNotPaused(admin, "RESUME");
  }

  private static int resumeIgnoringNotPaused(PgBouncerConsole admin, String command) throws SQLException {
    try {
      admin.execute(command);
      return 1;
    } catch (SQLException e) {
      if (e.getMessage() != null && e.getMessage().contains("not paused")) {
        return 0;
      }
      throw e;
    }
  }

  static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }

  static String identifier(String value) {
    return "\"" + value.replace("\"", "\"\"") + "\"";
  }
}
