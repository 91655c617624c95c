package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.postgres.InstanceProbe;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Renders postgresql.conf (the operator's part) and pg_hba.conf. Pure. */
public final class PostgresConfig {

  private PostgresConfig() {}

  /** Settings replication and pg_rewind need; user parameters follow and may override tunables. */
  public static Map<String, String> operatorParameters(PgCluster cluster) {
    PgClusterSpec spec = cluster.getSpec();
    // Sized for the largest cluster the CRD allows, not this one: both settings need a restart, and
    // scaling should not roll every instance.
    int senders = PgClusterSpec.MAX_INSTANCES * 2 + 4;
    Map<String, String> params = new LinkedHashMap<>();
    params.put("wal_level", "replica");
    params.put("hot_standby", "on");
    // pg_rewind needs hint bits WAL-logged; initdb also enables data checksums.
    params.put("wal_log_hints", "on");
    params.put("max_wal_senders", Integer.toString(senders));
    params.put("max_replication_slots", Integer.toString(senders));
    params.put("max_slot_wal_keep_size", quote(spec.replication.maxSlotWalKeepSize));
    params.put("wal_keep_size", "'128MB'");
    params.put("hot_standby_feedback", "on");
    // How soon a standby whose upstream went away (a failover) tries again: 5 s by default.
    params.put("wal_retrieve_retry_interval", "'1s'");
    // A peer on a node that went silent (packets dropped, no reset) is given up after 10 s rather than
    // PostgreSQL's 60: the primary's view of its synchronous standbys (and so the quorum, the status and
    // the preferred-durability fallback) follows, and a standby reconnects. Users may set their own.
    params.put("wal_sender_timeout", "'10s'");
    params.put("wal_receiver_timeout", "'10s'");
    params.put("password_encryption", "'scram-sha-256'");
    params.put("log_line_prefix", "'%m [%p] %q%u@%d '");
    params.put("log_connections", "off");
    // Declared here so that the agent may set it with ALTER SYSTEM when it fences the server (an
    // undeclared custom setting is refused there); empty = not fenced.
    params.put(dev.pgcluster.operator.ha.SyncReplication.AGENT_FENCE_MARKER, "''");
    params.putAll(BackupRenderer.archiveParameters(cluster));
    if (spec.replication.mode == ReplicationMode.SYNC) {
      params.put("synchronous_standby_names", quote(SyncStandbyNames.render(cluster)));
      params.put("synchronous_commit", spec.replication.synchronousCommit.value());
    }
    if (spec.logicalReplication != null) {
      params.putAll(logicalParameters(spec));
    }
    return params;
  }

  /**
   * What pglogical needs: logical decoding, its library loaded (after the user's), commit timestamps for
   * the policies that compare them, and the conflict policy (applied with a reload).
   */
  static Map<String, String> logicalParameters(PgClusterSpec spec) {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("wal_level", "logical");
    List<String> libraries = new ArrayList<>();
    String user = spec.postgresql.parameters == null ? null : spec.postgresql.parameters.get(PRELOAD);
    if (user != null) {
      for (String library : user.replace("'", "").split(",")) {
        if (!library.isBlank() && !library.trim().equals("pglogical")) {
          libraries.add(library.trim());
        }
      }
    }
    libraries.add("pglogical");
    params.put(PRELOAD, quote(String.join(",", libraries)));
    var policy = spec.logicalReplication.conflictResolution == null
        ? dev.pgcluster.operator.api.v1alpha1.ConflictResolution.APPLY_REMOTE : spec.logicalReplication.conflictResolution;
    if (policy.needsCommitTimestamps()) {
      params.put("track_commit_timestamp", "on");
    }
    params.put("pglogical.conflict_resolution", policy.value());
    return params;
  }

  static final String PRELOAD = "shared_preload_libraries";

  /**
   * postgresql.conf as rendered, ending with the hash of the configuration (this file and pg_hba.conf)
   * in a custom setting: after a reload, an instance reports which configuration it runs.
   */
  public static String postgresqlConf(PgCluster cluster) {
    String body = settings(cluster);
    return body + "# which configuration this is (the operator compares it with what each instance loaded)\n"
        + InstanceProbe.CONFIG_HASH_SETTING + " = '" + configHash(body, pgHbaConf(cluster)) + "'\n";
  }

  /** The hash an instance reports once it has loaded the configuration rendered for {@code cluster}. */
  public static String configHash(PgCluster cluster) {
    return configHash(settings(cluster), pgHbaConf(cluster));
  }

  private static String configHash(String settings, String pgHba) {
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest((settings + "\0" + pgHba).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String settings(PgCluster cluster) {
    StringBuilder conf = new StringBuilder("# Rendered by pgcluster-operator from PgCluster ")
        .append(cluster.getMetadata().getName()).append(": edit the resource, not this file.\n");
    operatorParameters(cluster).forEach((k, v) -> conf.append(k).append(" = ").append(v).append('\n'));
    Map<String, String> user = new LinkedHashMap<>(cluster.getSpec().postgresql.parameters == null ? Map.of()
        : cluster.getSpec().postgresql.parameters);
    if (cluster.getSpec().logicalReplication != null) {
      user.remove(PRELOAD);  // merged into the operator's list above
    }
    if (!user.isEmpty()) {
      conf.append("# spec.postgresql.parameters\n");
      user.forEach((k, v) -> conf.append(k).append(" = ").append(quote(v)).append('\n'));
    }
    return conf.toString();
  }

  /**
   * Replication only for the replication role; everything over the network with SCRAM; the user's
   * rules come after the replication rules (so they cannot open replication to others) and before
   * the catch-all.
   */
  public static String pgHbaConf(PgCluster cluster) {
    List<String> lines = new ArrayList<>();
    lines.add("# Rendered by pgcluster-operator: edit spec.postgresql.pgHba instead.");
    lines.add("local   all          all                           scram-sha-256");
    if (dev.pgcluster.operator.api.v1alpha1.TlsSpec.enabled(cluster.getSpec())
        && Boolean.TRUE.equals(cluster.getSpec().tls.required)) {
      // spec.tls.required: nothing over the network without TLS, whatever the rules below say.
      lines.add("hostnossl all         all          all              reject");
    }
    lines.add("host    replication  " + PgClusterNames.REPLICATION_USER + "  all  scram-sha-256");
    lines.add("host    replication  all          all              reject");
    List<String> extra = cluster.getSpec().postgresql.pgHba;
    if (extra != null && !extra.isEmpty()) {
      lines.add("# spec.postgresql.pgHba");
      lines.addAll(extra);
    }
    lines.add("host    all          all          all              scram-sha-256");
    return lines.stream().collect(Collectors.joining("\n", "", "\n"));
  }

  /** A postgresql.conf string literal; numbers and plain words would also do, quoting is always safe. */
  static String quote(String value) {
    if (value.startsWith("'") && value.endsWith("'") && value.length() >= 2) {
      return value;
    }
    return "'" + value.replace("'", "''") + "'";
  }
}
