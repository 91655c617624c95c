package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/**
 * Logical replication with pglogical between this cluster and others (another PgCluster or any
 * PostgreSQL with pglogical): this cluster is a pglogical node that publishes its tables and subscribes
 * to the nodes listed. Two clusters subscribed to each other are active-active: both take writes, a row
 * changed on both sides is settled by conflictResolution after the fact (AP, never CP).
 */
public class LogicalReplicationSpec {
  @Size(max = 63)
  @Pattern("^[a-z_][a-z0-9_]{0,62}$")
  @ValidationRule(value = "self == oldSelf", message = "logicalReplication.nodeName is immutable")
  @JsonPropertyDescription("This cluster's pglogical node name, unique among the nodes that replicate with each"
      + " other; the cluster's name (dashes as underscores) when empty. Immutable.")
  public String nodeName;

  @JsonPropertyDescription("How a change arriving for a row changed here too is settled: apply_remote (the"
      + " arriving change wins; the default), keep_local (this node's version stays), last_update_wins (the later"
      + " commit wins, by commit timestamps), first_update_wins, or error (replication stops until a person"
      + " resolves it). Every choice but error discards one of the two versions.")
  public ConflictResolution conflictResolution = ConflictResolution.APPLY_REMOTE;

  @Size(max = 200)
  @JsonPropertyDescription("Tables of the application database this node publishes (schema-qualified or in public)."
      + " Empty: every table of schema public. A table needs a primary key for its updates and deletes to replicate.")
  public List<@Size(max = 127) @Pattern("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$") String> tables = new ArrayList<>();

  @Size(max = 20)
  @ValidationRule(value = "self.all(s, self.exists_one(o, o.name == s.name))",
      message = "logicalReplication.subscriptions: each name may be used once")
  @JsonPropertyDescription("Nodes this cluster subscribes to: their published changes are applied here. Changes"
      + " that came here from another node are not forwarded (no loops in active-active).")
  public List<LogicalSubscriptionSpec> subscriptions = new ArrayList<>();
}
