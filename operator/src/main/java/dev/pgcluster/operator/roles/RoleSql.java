package dev.pgcluster.operator.roles;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Reads the primary's roles and runs a role's statements, over a superuser connection. */
public final class RoleSql {
  private RoleSql() {}

  /** Every role of the cluster, with its attributes, whether the operator manages it, its memberships. */
  public static Map<String, RolePlan.ObservedRole> roles(Connection superuser) throws SQLException {
    Map<String, RolePlan.ObservedRole> out = new LinkedHashMap<>();
    try (PreparedStatement st = superuser.prepareStatement("SELECT r.rolname, r.rolcanlogin, r.rolcreatedb,"
        + " r.rolconnlimit, coalesce(pg_catalog.shobj_description(r.oid, 'pg_authid') = ?, false),"
        + " ARRAY(SELECT b.rolname::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles b"
        + " ON b.oid = m.roleid WHERE m.member = r.oid) FROM pg_catalog.pg_roles r ORDER BY 1")) {
      st.setString(1, RolePlan.MARKER);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          Array parents = rs.getArray(6);
          Set<String> memberOf = new TreeSet<>(List.of((String[]) parents.getArray()));
          out.put(rs.getString(1), new RolePlan.ObservedRole(rs.getString(1), rs.getBoolean(2), rs.getBoolean(3),
              rs.getInt(4), rs.getBoolean(5), memberOf));
        }
      }
    }
    return out;
  }

  /** One role's statements in one transaction: all of them or none. */
  public static void run(Connection superuser, List<String> statements) throws SQLException {
    if (statements.isEmpty()) {
      return;
    }
    boolean autoCommit = superuser.getAutoCommit();
    superuser.setAutoCommit(false);
    try (Statement st = superuser.createStatement()) {
      for (String sql : statements) {
        st.execute(sql);
      }
      superuser.commit();
    } catch (SQLException e) {
      superuser.rollback();
      throw e;
    } finally {
      superuser.setAutoCommit(autoCommit);
    }
  }

  /** The password, hashed by the driver (SCRAM): the plaintext never reaches the server or its log. */
  public static void setPassword(Connection superuser, String role, String password) throws SQLException {
    superuser.unwrap(org.postgresql.PGConnection.class).alterUserPassword(role, password.toCharArray(), "scram-sha-256");
  }
}
