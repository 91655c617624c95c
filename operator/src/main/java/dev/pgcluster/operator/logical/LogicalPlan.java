package dev.pgcluster.operator.logical;

import dev.pgcluster.operator.api.v1alpha1.LogicalReplicationSpec;
import dev.pgcluster.operator.api.v1alpha1.LogicalSubscriptionSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Pure: what spec.logicalReplication asks of the primary, given what its database holds now. The node
 * first (its extension, then itself), then its replication set, then the subscriptions; a subscription
 * the operator made and that is no longer declared is dropped (pglogical drops its slot on the provider,
 * so WAL does not pile up there). A subscription made by hand is never touched.
 */
public final class LogicalPlan {
  private LogicalPlan() {}

  /** What the primary's database holds. */
  public record Observed(boolean preloaded, boolean extension, String node, Map<String, Boolean> tablesWithKey,
      Set<String> published, Map<String, String> subscriptions) {}

  /** One step, in order. */
  public sealed interface Step {
    record CreateExtension() implements Step {}

    record CreateNode(String name) implements Step {}

    record Publish(String table) implements Step {}

    record Subscribe(LogicalSubscriptionSpec subscription) implements Step {}

    record Unsubscribe(String name) implements Step {}
  }

  /**
   * The steps, why nothing can be done yet (null if something can), the declared tables left out for
   * want of a primary key, and declared tables that do not exist.
   */
  public record Plan(List<Step> steps, String waiting, List<String> withoutPrimaryKey, List<String> missing) {}

  /** A slot the status recorded: its name and the primary epoch it was last seen in. */
  public record SeenSlot(String name, int epoch) {}

  /**
   * The subscribers' slots to create again on this primary: those last seen under an earlier primary
   * (a failover or switchover since; PostgreSQL 15 keeps slots on the primary alone) and missing here.
   * A slot that went missing under the same primary was dropped on purpose (its subscription dropped):
   * it is not brought back.
   */
  public static List<String> slotsToRecreate(List<SeenSlot> seen, int epoch, Set<String> present) {
    return seen.stream().filter(s -> s.epoch() < epoch && !present.contains(s.name())).map(SeenSlot::name)
        .sorted().toList();
  }

  /** The node name: spec.logicalReplication.nodeName, else the cluster's name with underscores. */
  public static String nodeName(LogicalReplicationSpec spec, String cluster) {
    return spec.nodeName != null && !spec.nodeName.isEmpty() ? spec.nodeName : cluster.replace('-', '_');
  }

  /**
   * @param managed the subscriptions the operator made (from its last status): only these are dropped
   *     when they are no longer declared
   */
  public static Plan plan(LogicalReplicationSpec spec, String nodeName, Observed observed, Set<String> managed) {
    List<Step> steps = new ArrayList<>();
    if (!observed.preloaded()) {
      return new Plan(steps, "waiting for the instances to restart with pglogical in shared_preload_libraries",
          List.of(), List.of());
    }
    if (!observed.extension()) {
      steps.add(new Step.CreateExtension());
    }
    if (observed.node() == null) {
      steps.add(new Step.CreateNode(nodeName));
    } else if (!observed.node().equals(nodeName)) {
      return new Plan(List.of(), "the database is pglogical node " + observed.node() + ", not " + nodeName
          + " (logicalReplication.nodeName): a node is never renamed or dropped by the operator", List.of(), List.of());
    }
    List<String> withoutKey = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    Set<String> wanted = new TreeSet<>();
    if (spec.tables == null || spec.tables.isEmpty()) {
      observed.tablesWithKey().keySet().stream().filter(t -> !t.contains(".") || t.startsWith("public."))
          .forEach(wanted::add);
    } else {
      for (String table : spec.tables) {
        String name = table.startsWith("public.") ? table.substring("public.".length()) : table;
        if (observed.tablesWithKey().containsKey(name)) {
          wanted.add(name);
        } else {
          missing.add(table);
        }
      }
    }
    for (String table : wanted) {
      if (!observed.tablesWithKey().get(table)) {
        withoutKey.add(table);
      } else if (!observed.published().contains(table)) {
        steps.add(new Step.Publish(table));
      }
    }
    List<LogicalSubscriptionSpec> declared = spec.subscriptions == null ? List.of() : spec.subscriptions;
    for (LogicalSubscriptionSpec subscription : declared) {
      if (!observed.subscriptions().containsKey(subscription.name)) {
        steps.add(new Step.Subscribe(subscription));
      }
    }
    for (String existing : new TreeSet<>(observed.subscriptions().keySet())) {
      if (managed.contains(existing) && declared.stream().noneMatch(s -> s.name.equals(existing))) {
        steps.add(new Step.Unsubscribe(existing));
      }
    }
    return new Plan(steps, null, withoutKey, missing);
  }
}
