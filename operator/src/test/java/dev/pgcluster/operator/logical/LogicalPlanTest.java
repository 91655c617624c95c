package dev.pgcluster.operator.logical;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.LogicalReplicationSpec;
import dev.pgcluster.operator.api.v1alpha1.LogicalSubscriptionSpec;
import dev.pgcluster.operator.logical.LogicalPlan.Step;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LogicalPlanTest {
  static LogicalReplicationSpec spec(String... subscriptions) {
    LogicalReplicationSpec spec = new LogicalReplicationSpec();
    for (String name : subscriptions) {
      LogicalSubscriptionSpec s = new LogicalSubscriptionSpec();
      s.name = name;
      s.host = "pg-rw.dc2.svc";
      spec.subscriptions.add(s);
    }
    return spec;
  }

  static LogicalPlan.Observed observed(boolean preloaded, boolean extension, String node, Map<String, Boolean> tables,
      Set<String> published, Map<String, String> subscriptions) {
    return new LogicalPlan.Observed(preloaded, extension, node, tables, published, subscriptions);
  }

  static List<String> steps(LogicalPlan.Plan plan) {
    return plan.steps().stream().map(s -> s instanceof Step.Subscribe sub ? "Subscribe[" + sub.subscription().name + "]"
        : s.toString()).toList();
  }

  @Test
  void nothingBeforePglogicalIsLoaded() {
    LogicalPlan.Plan plan = LogicalPlan.plan(spec("from_dc2"), "dc1", observed(false, false, null, Map.of(), Set.of(),
        Map.of()), Set.of());
    assertEquals(List.of(), plan.steps());
    assertTrue(plan.waiting().contains("shared_preload_libraries"), plan.waiting());
  }

  @Test
  void aNewNodeGetsItsExtensionItselfItsTablesWithKeysAndItsSubscriptionsInOrder() {
    LogicalPlan.Plan plan = LogicalPlan.plan(spec("from_dc2"), "dc1", observed(true, false, null,
        Map.of("items", true, "log", false, "audit.trail", true), Set.of(), Map.of()), Set.of());
    assertEquals(List.of("CreateExtension[]", "CreateNode[name=dc1]", "Publish[table=items]", "Subscribe[from_dc2]"),
        steps(plan), "only schema public when no tables are listed; a table without a key left out");
    assertEquals(List.of("log"), plan.withoutPrimaryKey());
    assertNull(plan.waiting());
  }

  @Test
  void aNodeAsDeclaredIsLeftAloneAndOnlyWhatIsMissingIsDone() {
    LogicalPlan.Plan plan = LogicalPlan.plan(spec("from_dc2"), "dc1", observed(true, true, "dc1",
        Map.of("items", true, "orders", true), Set.of("items"), Map.of("from_dc2", "replicating")), Set.of("from_dc2"));
    assertEquals(List.of("Publish[table=orders]"), steps(plan));
  }

  @Test
  void listedTablesOnlyAndTheMissingOnesReported() {
    LogicalReplicationSpec spec = spec();
    spec.tables = List.of("public.items", "audit.trail", "nope");
    LogicalPlan.Plan plan = LogicalPlan.plan(spec, "dc1", observed(true, true, "dc1",
        Map.of("items", true, "orders", true, "audit.trail", true), Set.of(), Map.of()), Set.of());
    assertEquals(List.of("Publish[table=audit.trail]", "Publish[table=items]"), steps(plan));
    assertEquals(List.of("nope"), plan.missing());
  }

  @Test
  void aSubscriptionTakenOutIsDroppedOnlyIfTheOperatorMadeIt() {
    LogicalPlan.Plan plan = LogicalPlan.plan(spec(), "dc1", observed(true, true, "dc1", Map.of(), Set.of(),
        Map.of("from_dc2", "replicating", "by_hand", "replicating")), Set.of("from_dc2"));
    assertEquals(List.of("Unsubscribe[name=from_dc2]"), steps(plan));
  }

  @Test
  void aDatabaseThatIsAnotherNodeIsNeverRenamed() {
    LogicalPlan.Plan plan = LogicalPlan.plan(spec("from_dc2"), "dc1", observed(true, true, "old", Map.of("items", true),
        Set.of(), Map.of()), Set.of());
    assertEquals(List.of(), plan.steps());
    assertTrue(plan.waiting().contains("pglogical node old, not dc1"), plan.waiting());
  }

  @Test
  void theNodeNameDefaultsToTheClusterName() {
    assertEquals("shop_eu", LogicalPlan.nodeName(spec(), "shop-eu"));
    LogicalReplicationSpec named = spec();
    named.nodeName = "dc1";
    assertEquals("dc1", LogicalPlan.nodeName(named, "shop-eu"));
  }

  @Test
  void slotsLeftOnAFormerPrimaryAreCreatedAgainAndOnesDroppedUnderTheSamePrimaryAreNot() {
    List<LogicalPlan.SeenSlot> seen = List.of(new LogicalPlan.SeenSlot("pgl_app_dc2_from_dc2", 3),
        new LogicalPlan.SeenSlot("pgl_app_dc2_from_dc3", 3), new LogicalPlan.SeenSlot("pgl_app_dc2_gone", 4));
    assertEquals(List.of("pgl_app_dc2_from_dc2"), LogicalPlan.slotsToRecreate(seen, 4, Set.of("pgl_app_dc2_from_dc3")),
        "from_dc3 is there, gone was dropped under epoch 4 itself");
    assertEquals(List.of(), LogicalPlan.slotsToRecreate(seen, 3, Set.of()), "the same primary: dropped on purpose");
  }
}
