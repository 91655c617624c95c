package dev.pgcluster.operator.roles;

import dev.pgcluster.operator.api.v1alpha1.RoleSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What to run on the primary so that its roles are as spec.roles declares them: pure, from the roles
 * as observed. Roles the operator created carry a comment ({@link #MARKER}); one that is no longer
 * declared is reported, never dropped, unless declared with {@code ensure: absent}.
 */
public final class RolePlan {
  /** COMMENT ON ROLE of every role the operator created: survives operator restarts and failovers. */
  public static final String MARKER = "managed by pgcluster-operator (spec.roles)";

  /** A role as pg_roles shows it, and the roles it is a member of. */
  public record ObservedRole(String name, boolean login, boolean createdb, int connectionLimit, boolean managed,
      Set<String> memberOf) {}

  /** The statements for one declared role, run together; a problem when they cannot be right. */
  public record RoleSteps(String role, RoleSpec.Ensure ensure, List<String> statements, String problem) {}

  /** Steps per declared role, in spec order, and the managed roles no longer declared. */
  public record Plan(List<RoleSteps> roles, Set<String> undeclared) {}

  private RolePlan() {}

  public static Plan plan(List<RoleSpec> declared, Map<String, ObservedRole> observed, Set<String> existing) {
    List<RoleSteps> steps = new ArrayList<>();
    Set<String> declaredNames = new TreeSet<>();
    for (RoleSpec role : parentsFirst(declared)) {
      declaredNames.add(role.name);
      steps.add(stepsFor(role, observed.get(role.name), existing, declared));
    }
    Set<String> undeclared = new TreeSet<>();
    observed.values().stream().filter(o -> o.managed() && !declaredNames.contains(o.name()))
        .forEach(o -> undeclared.add(o.name()));
    return new Plan(steps, undeclared);
  }

  private static RoleSteps stepsFor(RoleSpec role, ObservedRole seen, Set<String> existing, List<RoleSpec> declared) {
    String name = quote(role.name);
    if (role.ensure == RoleSpec.Ensure.ABSENT) {
      return new RoleSteps(role.name, role.ensure, seen == null ? List.of() : List.of("DROP ROLE " + name), null);
    }
    // Every role it should belong to must exist, or be declared present and created before it.
    Set<String> missing = new TreeSet<>();
    for (String parent : role.inRoles) {
      boolean declaredPresent = declared.stream().anyMatch(d -> d.name.equals(parent) && d.ensure == RoleSpec.Ensure.PRESENT);
      if (!existing.contains(parent) && !declaredPresent) {
        missing.add(parent);
      }
    }
    for (String parent : role.inRoles) {
      if (declared.stream().anyMatch(d -> d.name.equals(parent) && d.ensure == RoleSpec.Ensure.ABSENT)) {
        return new RoleSteps(role.name, role.ensure, List.of(), "spec.roles[" + role.name + "].inRoles: " + parent
            + " is declared absent");
      }
    }
    if (!missing.isEmpty()) {
      return new RoleSteps(role.name, role.ensure, List.of(), "spec.roles[" + role.name + "].inRoles: no role named "
          + String.join(", ", missing));
    }
    if (role.inRoles.contains(role.name)) {
      return new RoleSteps(role.name, role.ensure, List.of(), "spec.roles[" + role.name + "].inRoles: a role cannot be"
          + " a member of itself");
    }
    List<String> statements = new ArrayList<>();
    String attributes = (Boolean.TRUE.equals(role.login) ? "LOGIN" : "NOLOGIN")
        + (Boolean.TRUE.equals(role.createdb) ? " CREATEDB" : " NOCREATEDB") + " CONNECTION LIMIT " + role.connectionLimit;
    if (seen == null) {
      statements.add("CREATE ROLE " + name + " WITH " + attributes);
      statements.add("COMMENT ON ROLE " + name + " IS '" + MARKER + "'");
    } else {
      if (seen.login() != Boolean.TRUE.equals(role.login) || seen.createdb() != Boolean.TRUE.equals(role.createdb)
          || seen.connectionLimit() != role.connectionLimit) {
        statements.add("ALTER ROLE " + name + " WITH " + attributes);
      }
      if (!seen.managed()) {
        // A role that existed before it was declared: from now on the operator keeps it.
        statements.add("COMMENT ON ROLE " + name + " IS '" + MARKER + "'");
      }
    }
    Set<String> current = seen == null ? Set.of() : seen.memberOf();
    for (String parent : new TreeSet<>(role.inRoles)) {
      if (!current.contains(parent)) {
        statements.add("GRANT " + quote(parent) + " TO " + name);
      }
    }
    for (String parent : new TreeSet<>(current)) {
      if (!role.inRoles.contains(parent)) {
        statements.add("REVOKE " + quote(parent) + " FROM " + name);
      }
    }
    return new RoleSteps(role.name, role.ensure, statements, null);
  }

  /** Declared roles ordered so that a role comes after the declared roles it is a member of. */
  static List<RoleSpec> parentsFirst(List<RoleSpec> declared) {
    Map<String, RoleSpec> byName = new LinkedHashMap<>();
    declared.forEach(r -> byName.put(r.name, r));
    List<RoleSpec> ordered = new ArrayList<>();
    Set<String> placed = new TreeSet<>();
    for (RoleSpec role : declared) {
      place(role, byName, placed, new TreeSet<>(), ordered);
    }
    return ordered;
  }

  private static void place(RoleSpec role, Map<String, RoleSpec> byName, Set<String> placed, Set<String> visiting,
      List<RoleSpec> ordered) {
    if (placed.contains(role.name) || !visiting.add(role.name)) {
      return;  // placed already, or a cycle (PostgreSQL refuses the circular GRANT, reported then)
    }
    for (String parent : role.inRoles) {
      RoleSpec p = byName.get(parent);
      if (p != null) {
        place(p, byName, placed, visiting, ordered);
      }
    }
    placed.add(role.name);
    ordered.add(role);
  }

  /** Names are checked by the schema (lower case, digits, _); quoted so that none is a keyword. */
  static String quote(String name) {
    return '"' + name.replace("\"", "\"\"") + '"';
  }

  /** Declared roles with a password Secret, by role name. */
  public static Map<String, RoleSpec.PasswordSecret> passwords(List<RoleSpec> declared) {
    Map<String, RoleSpec.PasswordSecret> out = new LinkedHashMap<>();
    declared.stream().filter(r -> r.ensure == RoleSpec.Ensure.PRESENT && r.passwordSecret != null)
        .forEach(r -> out.put(r.name, r.passwordSecret));
    return out;
  }
}
