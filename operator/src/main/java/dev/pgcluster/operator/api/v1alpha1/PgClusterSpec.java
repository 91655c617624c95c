package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/**
 * Desired state of a cluster. Cross-field rules live here as CEL so that the API server rejects
 * them before the operator ever sees the resource.
 */
@ValidationRule(
    value = "!has(self.replication) || self.replication.mode != 'sync' || self.replication.number <= self.instances - 1"
        + " - (has(self.replication.delayedReplicas) ? self.replication.delayedReplicas.instances : 0)",
    message = "replication.number must not exceed the number of standbys that can be synchronous"
        + " (instances - 1 - delayedReplicas.instances)")
@ValidationRule(
    value = "!has(self.replication) || !has(self.replication.delayedReplicas)"
        + " || self.replication.delayedReplicas.instances == 0"
        + " || self.replication.delayedReplicas.instances < self.instances - 1",
    message = "delayedReplicas.instances must leave at least one promotable (non-delayed) standby:"
        + " it must be less than instances - 1")
@ValidationRule(
    value = "!has(self.bootstrap) || !has(self.bootstrap.recovery) || has(self.backup)",
    message = "bootstrap.recovery reads the store named in spec.backup.repository: set spec.backup")
@ValidationRule(
    value = "!(has(self.tls) && has(self.tls.enabled) && self.tls.enabled)"
        + " || (has(oldSelf.tls) && has(oldSelf.tls.enabled) && oldSelf.tls.enabled)",
    message = "tls.enabled is chosen when the cluster is created: a running cluster cannot be turned to TLS"
        + " (its standbys would verify a primary that does not serve TLS yet)")
@ValidationRule(
    value = "!has(oldSelf.logicalReplication) || has(self.logicalReplication)",
    message = "logicalReplication cannot be taken out of a running cluster: its pglogical slots need wal_level"
        + " logical to start; drop the subscriptions, then the node and its slots by hand first")
@ValidationRule(
    value = "has(self.walStorage) == has(oldSelf.walStorage)",
    message = "walStorage is chosen when the cluster is created: a WAL volume cannot be added to or removed from"
        + " existing instances")
@ValidationRule(
    value = "!has(self.roles) || self.roles.all(r, r.name != (has(self.bootstrap) && has(self.bootstrap.owner)"
        + " ? self.bootstrap.owner : 'app'))",
    message = "roles: the database owner (bootstrap.owner) is kept with its own Secret and cannot be declared in"
        + " spec.roles")
public class PgClusterSpec {
  /** The largest cluster the schema accepts; settings sized by it never change with scaling. */
  public static final int MAX_INSTANCES = 9;

  @Required
  @Min(1)
  @Max(MAX_INSTANCES)
  @io.fabric8.kubernetes.model.annotation.SpecReplicas
  @JsonPropertyDescription("Number of PostgreSQL instances: one primary and instances-1 standbys (1..9).")
  public Integer instances;

  @Default("postgres:16")
  @Pattern("^[^\\s]+$")
  @JsonPropertyDescription("Container image with the PostgreSQL server tools (initdb, pg_basebackup, pg_rewind).")
  public String image = "postgres:16";

  @Required
  @JsonPropertyDescription("Persistent storage of each instance.")
  public StorageSpec storage;

  @JsonPropertyDescription("A separate volume for each instance's WAL (pg_wal): WAL writes do not compete with the"
      + " data files, and a burst of WAL (an archive that fails, a slot held back) fills this volume, not the data"
      + " one. Chosen when the cluster is created; its size may grow like storage.size.")
  public StorageSpec walStorage;

  @JsonPropertyDescription("Compute resources of the postgres container.")
  public ResourceRequirements resources;

  @JsonPropertyDescription("Where the instances' pods run: anti-affinity between instances (preferred across nodes"
      + " by default), node selector and affinity, tolerations, topology spread, priority class.")
  public SchedulingSpec scheduling = new SchedulingSpec();

  @JsonPropertyDescription("Labels and annotations added to the instances' pods.")
  public ObjectMetadataSpec podMetadata;

  @JsonPropertyDescription("Labels and annotations added to the instances' ServiceAccount (workload identity, for"
      + " example azure.workload.identity/client-id).")
  public ObjectMetadataSpec serviceAccountMetadata;

  @JsonPropertyDescription("PostgreSQL configuration: parameters and extra pg_hba rules.")
  public PostgresqlSpec postgresql = new PostgresqlSpec();

  @JsonPropertyDescription("How standbys replicate from the primary.")
  public ReplicationSpec replication = new ReplicationSpec();

  @JsonPropertyDescription("Automatic failover settings.")
  public FailoverSpec failover = new FailoverSpec();

  @JsonPropertyDescription("Initial database, its owner and optional user-supplied secrets.")
  public BootstrapSpec bootstrap = new BootstrapSpec();

  @JsonPropertyDescription("A planned switchover to another instance, done once per id.")
  public SwitchoverSpec switchover;

  @JsonPropertyDescription("WAL archiving and base backups to an object store (pgBackRest).")
  public BackupSpec backup;

  @JsonPropertyDescription("TLS for client and replication connections.")
  public TlsSpec tls;

  @JsonPropertyDescription("A PgBouncer pooler in front of the primary (Service <name>-pooler-rw); absent: none.")
  public PoolerSpec pooler;

  @JsonPropertyDescription("Logical replication with pglogical: this cluster publishes its tables as a pglogical"
      + " node and subscribes to the nodes listed; two clusters subscribed to each other are active-active."
      + " Needs an image with the pglogical extension; turning it on restarts the instances (wal_level logical,"
      + " shared_preload_libraries).")
  public LogicalReplicationSpec logicalReplication;

  @Size(max = 50)
  @ValidationRule(value = "self.all(r, self.exists_one(o, o.name == r.name))",
      message = "roles: each name may be declared once")
  @JsonPropertyDescription("Database roles kept as declared on the primary: login, password from a Secret,"
      + " memberships. A role taken out of this list is kept, not dropped (ensure: absent drops it).")
  public java.util.List<RoleSpec> roles = new java.util.ArrayList<>();
}
