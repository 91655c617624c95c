package dev.pgcluster.operator.ha;

import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.api.v1alpha1.SyncMethod;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.SyncStandbyNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Pure: the primary's synchronous replication settings for the observed standbys, and how healthy
 * that is. Candidates are the non-delayed standbys in the spec (never the primary, never a delayed
 * standby). Under {@code required} the quorum stays as specified and writes wait while too few
 * candidates stream, as PostgreSQL does; under {@code preferred} the quorum shrinks to the streaming
 * candidates (down to asynchronous) so that writes go on, and grows back as they return.
 */
public final class SyncReplication {
  /**
   * Set on a primary while its agent has fenced it (see agent.LocalPostgres): the operator then leaves
   * read-only alone; the agent lifts it once it renews its grant again.
   */
  public static final String AGENT_FENCE_MARKER = "pgcluster.fenced";


  /** How the synchronous set stands. */
  public enum Health {
    /** Asynchronous mode: nothing to wait for. */
    ASYNC,
    /** The specified quorum is streaming. */
    SYNCHRONOUS,
    /** durability: required, too few candidates streaming: commits wait. */
    WAITING_FOR_STANDBYS,
    /** durability: preferred, the quorum was reduced (possibly to zero) to stay writable. */
    REDUCED
  }

  /**
   * @param standbyNames the value of synchronous_standby_names
   * @param synchronousCommit the value of synchronous_commit
   * @param required the quorum the spec asks for (0 in async mode)
   * @param streaming candidates streaming now
   */
  public record Plan(String standbyNames, String synchronousCommit, Health health, int required, int streaming,
      List<String> candidates) {

    /** The settings, but default_transaction_read_only only when {@code agentFenced} is false. */
    public Map<String, String> settings(boolean agentFenced) {
      Map<String, String> settings = settings();
      if (agentFenced) {
        settings.remove("default_transaction_read_only");
      }
      return settings;
    }

    public Map<String, String> settings() {
      Map<String, String> settings = new LinkedHashMap<>();
      settings.put("synchronous_standby_names", standbyNames);
      settings.put("synchronous_commit", synchronousCommit);
      // A switchover makes the old primary read-only; whoever is primary must accept writes.
      settings.put("default_transaction_read_only", "off");
      return settings;
    }

    /** One line for conditions, events and logs. */
    public String describe() {
      return switch (health) {
        case ASYNC -> "asynchronous replication";
        case SYNCHRONOUS -> "synchronous replication: " + required + " of " + streaming + " streaming standbys ("
            + standbyNames + ")";
        case WAITING_FOR_STANDBYS -> "commits wait: durability is required and " + streaming + " of the "
            + required + " synchronous standbys needed are streaming (candidates "
            + String.join(", ", candidates) + ")";
        case REDUCED -> streaming == 0
            ? "durability is preferred and no synchronous standby is streaming: replicating asynchronously"
                + " until one returns"
            : "durability is preferred and " + streaming + " of " + required + " synchronous standbys are"
                + " streaming: quorum reduced to " + streaming + " (" + standbyNames + ")";
      };
    }
  }

  private SyncReplication() {}

  public static Plan plan(PgClusterSpec spec, PgClusterNames names, ClusterState state) {
    String holder = state.primary().holder();
    List<String> candidates = new ArrayList<>();
    for (int ordinal = 0; ordinal < SyncStandbyNames.promotableInstances(spec); ordinal++) {
      String pod = names.pod(ordinal);
      if (!pod.equals(holder)) {
        candidates.add(pod);
      }
    }
    Set<String> streamingNames = state.standbys().stream()
        .filter(c -> "streaming".equals(c.state()))
        .map(StandbyConnection::applicationName)
        .collect(Collectors.toSet());
    int streaming = (int) candidates.stream().filter(streamingNames::contains).count();
    if (spec.replication.mode != ReplicationMode.SYNC) {
      return new Plan("", "on", Health.ASYNC, 0, streaming, candidates);
    }
    int required = spec.replication.number;
    String commit = spec.replication.synchronousCommit.value();
    if (spec.replication.durability == Durability.PREFERRED && streaming < required) {
      if (streaming == 0) {
        return new Plan("", commit, Health.REDUCED, required, 0, candidates);
      }
      return new Plan(render(spec.replication.method, streaming, candidates), commit, Health.REDUCED, required,
          streaming, candidates);
    }
    Health health = streaming >= required ? Health.SYNCHRONOUS : Health.WAITING_FOR_STANDBYS;
    return new Plan(render(spec.replication.method, required, candidates), commit, health, required, streaming,
        candidates);
  }

  /** {@code ANY 2 ("pg-1", "pg-2")}; names are quoted because pod names contain dashes. */
  static String render(SyncMethod method, int number, List<String> candidates) {
    return (method == SyncMethod.FIRST ? "FIRST " : "ANY ") + number + " ("
        + candidates.stream().map(c -> '"' + c + '"').collect(Collectors.joining(", ")) + ")";
  }
}
