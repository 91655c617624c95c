package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.api.v1alpha1.StorageSpec;
import dev.pgcluster.operator.api.v1alpha1.SyncMethod;
import dev.pgcluster.operator.api.v1alpha1.SynchronousCommit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Rules the CRD schema cannot express cheaply (CEL over free-form maps and lists would exceed the API
 * server's cost budget) or that an older API server without CEL would let through. Pure.
 */
public final class SpecValidator {
  /** Settings the operator owns: a user value would break replication or the pods' networking. */
  public static final Set<String> OPERATOR_PARAMETERS = Set.of(
      "listen_addresses", "port", "unix_socket_directories", "hot_standby", "wal_level", "primary_conninfo",
      "primary_slot_name", "synchronous_standby_names", "recovery_min_apply_delay", "restore_command",
      "data_directory", "hba_file", "ident_file", "config_file", "wal_log_hints", "password_encryption",
      "recovery_target_timeline", "max_slot_wal_keep_size", "synchronous_commit");
  private static final Pattern HBA_TYPE = Pattern.compile("^(local|host|hostssl|hostnossl|hostgssenc|hostnogssenc)\\s.*");
  private static final Pattern WEAK_METHOD = Pattern.compile(".*\\s(trust|password|md5)(\\s.*)?$");
  private static final Pattern PARAMETER_NAME = Pattern.compile("^[a-z_][a-z0-9_.]*$");

  private SpecValidator() {}

  /**
   * What may not change from the last spec the operator applied: the same rules as the CRD's
   * transition rules, for an API server that did not enforce them (an older CRD, a CRD without CEL).
   * Empty when {@code last} is null (nothing applied yet) or when both sizes are not sizes (the plain
   * validation says so).
   */
  public static List<String> validateChange(PgClusterSpec last, PgClusterSpec next) {
    List<String> problems = new ArrayList<>();
    if (last == null || last.storage == null || next == null || next.storage == null) {
      return problems;
    }
    storageChange("storage", last.storage, next.storage, problems);
    if ((last.walStorage == null) != (next.walStorage == null)) {
      problems.add("walStorage is chosen when the cluster is created: a WAL volume cannot be added to or removed from"
          + " existing instances");
    } else if (last.walStorage != null) {
      storageChange("walStorage", last.walStorage, next.walStorage, problems);
    }
    if (!dev.pgcluster.operator.api.v1alpha1.TlsSpec.enabled(last)
        && dev.pgcluster.operator.api.v1alpha1.TlsSpec.enabled(next)) {
      problems.add("tls.enabled is chosen when the cluster is created: a running cluster cannot be turned to TLS"
          + " (its standbys would verify a primary that does not serve TLS yet)");
    }
    if (last.logicalReplication != null && next.logicalReplication == null) {
      problems.add("logicalReplication cannot be taken out of a running cluster: its pglogical slots need wal_level"
          + " logical to start; drop the subscriptions, then the node and its slots by hand first");
    }
    if (last.bootstrap != null && next.bootstrap != null
        && !java.util.Objects.equals(last.bootstrap.database, next.bootstrap.database)) {
      problems.add("bootstrap.database is immutable (was " + last.bootstrap.database + ", now "
          + next.bootstrap.database + ")");
    }
    return problems;
  }

  private static void storageChange(String field, StorageSpec last, StorageSpec next, List<String> problems) {
    if (last.size != null && next.size != null
        && last.size.matches(StorageSpec.QUANTITY_PATTERN) && next.size.matches(StorageSpec.QUANTITY_PATTERN)
        && io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(new io.fabric8.kubernetes.api.model.Quantity(
            next.size)).compareTo(io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(
            new io.fabric8.kubernetes.api.model.Quantity(last.size))) < 0) {
      problems.add(field + ".size may not shrink (from " + last.size + " to " + next.size
          + "): a volume cannot be made smaller");
    }
    if (!java.util.Objects.equals(last.storageClass, next.storageClass)) {
      problems.add(field + ".storageClass is immutable (was " + last.storageClass + ", now "
          + next.storageClass + ")");
    }
  }

  /** Every problem found, each a sentence a user can act on; empty when the spec is valid. */
  public static List<String> validate(PgClusterSpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec == null || spec.instances == null || spec.storage == null) {
      problems.add("spec.instances and spec.storage are required");
      return problems;
    }
    if (spec.instances < 1 || spec.instances > PgClusterSpec.MAX_INSTANCES) {
      problems.add("instances (" + spec.instances + ") must be between 1 and " + PgClusterSpec.MAX_INSTANCES);
    }
    if (spec.storage.size == null || !spec.storage.size.matches(StorageSpec.QUANTITY_PATTERN)) {
      problems.add("storage.size '" + spec.storage.size + "' is not a size (for example 10Gi)");
    }
    unknownValue(problems, "replication.mode", spec.replication.mode, ReplicationMode.values());
    unknownValue(problems, "replication.method", spec.replication.method, SyncMethod.values());
    unknownValue(problems, "replication.durability", spec.replication.durability, Durability.values());
    if (spec.logicalReplication != null) {
      unknownValue(problems, "logicalReplication.conflictResolution", spec.logicalReplication.conflictResolution,
          dev.pgcluster.operator.api.v1alpha1.ConflictResolution.values());
      for (String key : List.of("track_commit_timestamp", "pglogical.conflict_resolution")) {
        if (spec.postgresql.parameters != null && spec.postgresql.parameters.keySet().stream()
            .anyMatch(k -> k.equalsIgnoreCase(key))) {
          problems.add("postgresql.parameters." + key + " is set by the operator with spec.logicalReplication"
              + " (conflictResolution)");
        }
      }
    }
    unknownValue(problems, "replication.synchronousCommit", spec.replication.synchronousCommit,
        SynchronousCommit.values());
    if (spec.scheduling != null && spec.scheduling.podAntiAffinity != null) {
      unknownValue(problems, "scheduling.podAntiAffinity", spec.scheduling.podAntiAffinity,
          dev.pgcluster.operator.api.v1alpha1.PodAntiAffinityType.values());
    }
    if (spec.pooler != null) {
      unknownValue(problems, "pooler.poolMode", spec.pooler.poolMode, dev.pgcluster.operator.api.v1alpha1.PoolMode.values());
      bounded(problems, "pooler.instances", spec.pooler.instances, 1, 20);
      bounded(problems, "pooler.readOnlyInstances", spec.pooler.readOnlyInstances, 0, 20);
      bounded(problems, "pooler.defaultPoolSize", spec.pooler.defaultPoolSize, 1, 10000);
      bounded(problems, "pooler.maxClientConnections", spec.pooler.maxClientConnections, 1, 100000);
    }
    reservedKeys(problems, "podMetadata", spec.podMetadata);
    reservedKeys(problems, "serviceAccountMetadata", spec.serviceAccountMetadata);
    if (!problems.isEmpty()) {
      return problems;  // the rules below read these fields
    }
    int delayed = spec.replication.delayedReplicas == null ? 0 : spec.replication.delayedReplicas.instances;
    int syncCapable = spec.instances - 1 - delayed;
    if (delayed > 0 && delayed >= spec.instances - 1) {
      problems.add("replication.delayedReplicas.instances (" + delayed + ") must leave at least one promotable"
          + " standby: it must be less than instances - 1 (" + (spec.instances - 1) + ")");
    }
    if (spec.replication.mode == dev.pgcluster.operator.api.v1alpha1.ReplicationMode.SYNC
        && spec.replication.number > syncCapable) {
      problems.add("replication.number (" + spec.replication.number + ") exceeds the standbys that can be"
          + " synchronous (" + Math.max(syncCapable, 0) + ")");
    }
    spec.postgresql.parameters.forEach((key, value) -> {
      String name = key.toLowerCase(Locale.ROOT);
      if (OPERATOR_PARAMETERS.contains(name)) {
        problems.add("postgresql.parameters." + key + " is managed by the operator and may not be set");
      } else if (!PARAMETER_NAME.matcher(name).matches()) {
        problems.add("postgresql.parameters." + key + " is not a valid parameter name");
      } else if (value == null || value.contains("\n")) {
        problems.add("postgresql.parameters." + key + " must be a single-line value");
      }
    });
    for (String rule : spec.postgresql.pgHba) {
      if (rule.contains("\n") || !HBA_TYPE.matcher(rule).matches()) {
        problems.add("postgresql.pgHba rule '" + rule + "' must be one line starting with a connection type"
            + " (local, host, hostssl, ...)");
      } else if (WEAK_METHOD.matcher(rule).matches()) {
        problems.add("postgresql.pgHba rule '" + rule + "' uses a weak method: use scram-sha-256 (or cert, reject)");
      }
    }
    return problems;
  }

  /** The longest name a Service may have (an RFC 1035 label). */
  static final int MAX_SERVICE_NAME = 63;

  /** spec.pooler, beyond the schema; {@code name} is the cluster's. */
  public static List<String> validatePooler(String name, PgClusterSpec spec) {
    List<String> problems = new ArrayList<>();
    String service = dev.pgcluster.operator.naming.PgClusterNames.of(name).poolerService();
    if (spec.pooler != null && service.length() > MAX_SERVICE_NAME) {
      problems.add("spec.pooler: the pooler's Service " + service + " would be longer than " + MAX_SERVICE_NAME
          + " characters: a cluster with a pooler needs a name of at most " + (MAX_SERVICE_NAME - service.length()
          + name.length()) + " characters");
    }
    return problems;
  }

  private static void bounded(List<String> problems, String field, Integer value, int min, int max) {
    if (value == null || value < min || value > max) {
      problems.add(field + " (" + value + ") must be between " + min + " and " + max);
    }
  }

  /** Settings archiving owns while spec.backup is set. */
  static final Set<String> ARCHIVE_PARAMETERS = Set.of("archive_mode", "archive_command", "archive_library");

  /** spec.backup and bootstrap.recovery, beyond the schema; {@code name} is the cluster's. */
  public static List<String> validateBackup(String name, PgClusterSpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec.backup == null) {
      return problems;
    }
    if (spec.backup.schedule != null) {
      dev.pgcluster.operator.backup.CronSchedule.problem(spec.backup.schedule)
          .ifPresent(p -> problems.add("spec.backup.schedule: " + p));
    }
    spec.postgresql.parameters.keySet().stream().filter(k -> ARCHIVE_PARAMETERS.contains(k.toLowerCase(Locale.ROOT)))
        .forEach(k -> problems.add("postgresql.parameters." + k + " is managed by the operator while spec.backup is set"));
    var recovery = spec.bootstrap.recovery;
    if (recovery != null && recovery.source.equals(name) && spec.backup.repository != null
        && (recovery.repositoryPath == null || recovery.repositoryPath.equals(spec.backup.repository.path))) {
      problems.add("bootstrap.recovery.source is this cluster's own stanza in the same repository path: the restored"
          + " cluster would archive over its source; give the new cluster another name or spec.backup.repository.path");
    }
    return problems;
  }

  /** Labels and annotations the operator sets itself (the schema's rule, for an API server without CEL). */
  private static void reservedKeys(List<String> problems, String field,
      dev.pgcluster.operator.api.v1alpha1.ObjectMetadataSpec metadata) {
    if (metadata == null) {
      return;
    }
    if (metadata.labels != null) {
      metadata.labels.keySet().stream().filter(k -> k.startsWith("pgcluster.dev/") || k.startsWith("app.kubernetes.io/"))
          .sorted().forEach(k -> problems.add(field + ".labels." + k + ": labels under pgcluster.dev/ and"
              + " app.kubernetes.io/ are the operator's"));
    }
    if (metadata.annotations != null) {
      metadata.annotations.keySet().stream().filter(k -> k.startsWith("pgcluster.dev/")).sorted()
          .forEach(k -> problems.add(field + ".annotations." + k + ": annotations under pgcluster.dev/ are the"
              + " operator's"));
    }
  }

  /** An enum field read as UNKNOWN (or missing): a value this operator does not know (see fromValue). */
  private static void unknownValue(List<String> problems, String field, Enum<?> value, Enum<?>[] known) {
    if (value == null || value.name().equals("UNKNOWN")) {
      problems.add(field + " has a value this operator does not know (it knows " + java.util.Arrays.stream(known)
          .filter(k -> !k.name().equals("UNKNOWN"))
          .map(k -> com.fasterxml.jackson.databind.json.JsonMapper.builder().build().valueToTree(k).asText())
          .collect(java.util.stream.Collectors.joining(", ")) + "): is the CRD newer than the operator?");
    }
  }
}
