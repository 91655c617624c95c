package dev.pgcluster.operator.roles;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.pgcluster.operator.api.v1alpha1.RoleSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RolePlanTest {
  static RoleSpec role(String name, String... inRoles) {
    RoleSpec r = new RoleSpec();
    r.name = name;
    r.inRoles = new ArrayList<>(List.of(inRoles));
    return r;
  }

  static RolePlan.ObservedRole seen(String name, boolean managed, String... memberOf) {
    return new RolePlan.ObservedRole(name, true, false, -1, managed, Set.of(memberOf));
  }

  static Map<String, RolePlan.ObservedRole> observed(RolePlan.ObservedRole... roles) {
    Map<String, RolePlan.ObservedRole> out = new LinkedHashMap<>();
    for (RolePlan.ObservedRole r : roles) {
      out.put(r.name(), r);
    }
    return out;
  }

  static RolePlan.RoleSteps only(RolePlan.Plan plan, String name) {
    return plan.roles().stream().filter(r -> r.role().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void aNewRoleIsCreatedMarkedAndGrantedItsRoles() {
    RolePlan.Plan plan = RolePlan.plan(List.of(role("reader", "pg_read_all_data")), observed(),
        Set.of("pg_read_all_data"));
    assertEquals(List.of("CREATE ROLE \"reader\" WITH LOGIN NOCREATEDB CONNECTION LIMIT -1",
        "COMMENT ON ROLE \"reader\" IS '" + RolePlan.MARKER + "'", "GRANT \"pg_read_all_data\" TO \"reader\""),
        only(plan, "reader").statements());
    assertNull(only(plan, "reader").problem());
  }

  @Test
  void aRoleAsDeclaredNeedsNothing() {
    RolePlan.Plan plan = RolePlan.plan(List.of(role("reader", "pg_read_all_data")),
        observed(seen("reader", true, "pg_read_all_data")), Set.of("reader", "pg_read_all_data"));
    assertEquals(List.of(), only(plan, "reader").statements());
  }

  @Test
  void changedAttributesAndMembershipsAreAlteredGrantedAndRevoked() {
    RoleSpec r = role("svc", "writers");
    r.login = false;
    r.connectionLimit = 5;
    RolePlan.Plan plan = RolePlan.plan(List.of(r), observed(seen("svc", true, "readers")),
        Set.of("svc", "writers", "readers"));
    assertEquals(List.of("ALTER ROLE \"svc\" WITH NOLOGIN NOCREATEDB CONNECTION LIMIT 5", "GRANT \"writers\" TO \"svc\"",
        "REVOKE \"readers\" FROM \"svc\""), only(plan, "svc").statements());
  }

  @Test
  void aRoleThatExistedBeforeItWasDeclaredIsTakenOverNotRecreated() {
    RolePlan.Plan plan = RolePlan.plan(List.of(role("legacy")), observed(seen("legacy", false)), Set.of("legacy"));
    assertEquals(List.of("COMMENT ON ROLE \"legacy\" IS '" + RolePlan.MARKER + "'"), only(plan, "legacy").statements());
  }

  @Test
  void aManagedRoleNoLongerDeclaredIsReportedNotDropped() {
    RolePlan.Plan plan = RolePlan.plan(List.of(), observed(seen("gone", true), seen("someone_elses", false)),
        Set.of("gone", "someone_elses"));
    assertEquals(List.of(), plan.roles());
    assertEquals(Set.of("gone"), plan.undeclared());
  }

  @Test
  void absentDropsOnlyWhatExists() {
    RoleSpec r = role("old");
    r.ensure = RoleSpec.Ensure.ABSENT;
    assertEquals(List.of("DROP ROLE \"old\""), only(RolePlan.plan(List.of(r), observed(seen("old", true)), Set.of("old")),
        "old").statements());
    assertEquals(List.of(), only(RolePlan.plan(List.of(r), observed(), Set.of()), "old").statements());
  }

  @Test
  void aMissingParentIsAProblemNamingTheField() {
    RolePlan.RoleSteps steps = only(RolePlan.plan(List.of(role("app_ro", "nosuch")), observed(), Set.of()), "app_ro");
    assertEquals(List.of(), steps.statements());
    assertEquals("spec.roles[app_ro].inRoles: no role named nosuch", steps.problem());
  }

  @Test
  void aParentDeclaredLaterIsCreatedFirst() {
    RolePlan.Plan plan = RolePlan.plan(List.of(role("alice", "team"), role("team")), observed(), Set.of());
    assertEquals(List.of("team", "alice"), plan.roles().stream().map(RolePlan.RoleSteps::role).toList());
    assertNull(only(plan, "alice").problem());
  }

  @Test
  void aParentDeclaredAbsentIsAProblem() {
    RoleSpec team = role("team");
    team.ensure = RoleSpec.Ensure.ABSENT;
    RolePlan.RoleSteps steps = only(RolePlan.plan(List.of(role("alice", "team"), team), observed(seen("team", true)),
        Set.of("team")), "alice");
    assertEquals("spec.roles[alice].inRoles: team is declared absent", steps.problem());
  }

  @Test
  void aCycleDoesNotLoop() {
    RolePlan.Plan plan = RolePlan.plan(List.of(role("a", "b"), role("b", "a")), observed(), Set.of());
    assertEquals(2, plan.roles().size());
  }
}
