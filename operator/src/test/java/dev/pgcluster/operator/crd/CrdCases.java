package dev.pgcluster.operator.crd;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Manifests a user can get wrong (name, spec, the spec it replaces or null, a part of the message they
 * must see) and manifests they should write (name, spec, old spec or null). CrdValidationTest evaluates
 * them against the CRD's schema and CEL rules in-process; the sandbox's KubectlE2ETest applies them with
 * kubectl to a real API server, which must answer the same.
 */
public final class CrdCases {
  private CrdCases() {}

  public static String manifest(String spec) {
    return "apiVersion: pgcluster.dev/v1alpha1\nkind: PgCluster\nmetadata:\n  name: pg\nspec:\n"
        + spec.indent(2);
  }

  public static final String BASE = "instances: 3\nstorage:\n  size: 10Gi\n";

  static final String BACKUP = "backup:\n  repository:\n    s3:\n      bucket: backups\n"
      + "      endpoint: minio.storage.svc\n      credentials:\n        secret: store\n";

  public static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("recovery without a store", BASE + "bootstrap:\n  recovery:\n    source: shop\n", null,
            "bootstrap.recovery reads the store named in spec.backup.repository: set spec.backup"),
        Arguments.of("recovery target time and lsn", BASE + BACKUP + "bootstrap:\n  recovery:\n    source: shop\n"
            + "    target:\n      time: \"2026-12-01T09:30:00Z\"\n      lsn: 0/3000060\n", null,
            "recovery target: give time or lsn, not both"),
        Arguments.of("recovery time not RFC 3339", BASE + BACKUP + "bootstrap:\n  recovery:\n    source: shop\n"
            + "    target:\n      time: yesterday\n", null, "does not match"),
        Arguments.of("schedule not cron", BASE + BACKUP + "  schedule: every night\n", null, "does not match"),
        Arguments.of("backup without credentials", BASE + "backup:\n  repository:\n    s3:\n      bucket: backups\n"
            + "      endpoint: minio.storage.svc\n", null, "credentials"),
        Arguments.of("unknown uri style", BASE + BACKUP + "      uriStyle: virtual\n", null, "does not match"),
        Arguments.of("instances missing", "storage:\n  size: 1Gi\n", null, "instances"),
        Arguments.of("storage missing", "instances: 3\n", null, "storage"),
        Arguments.of("no instances", "instances: 0\nstorage:\n  size: 1Gi\n", null, "minimum value of 1"),
        Arguments.of("too many instances", "instances: 10\nstorage:\n  size: 1Gi\n", null, "maximum value of 9"),
        Arguments.of("size not a quantity", "instances: 3\nstorage:\n  size: ten gigs\n", null, "does not match"),
        Arguments.of("unknown replication mode", BASE + "replication:\n  mode: semi-sync\n", null, "enum"),
        Arguments.of("unknown sync method", BASE + "replication:\n  mode: sync\n  method: most\n", null, "enum"),
        Arguments.of("unknown durability", BASE + "replication:\n  mode: sync\n  durability: maybe\n", null, "enum"),
        Arguments.of("sync quorum larger than the standbys", BASE + "replication:\n  mode: sync\n  number: 3\n", null,
            "replication.number must not exceed the number of standbys that can be synchronous"),
        Arguments.of("sync quorum counting a delayed standby", "instances: 4\nstorage:\n  size: 1Gi\nreplication:\n"
            + "  mode: sync\n  number: 3\n  delayedReplicas:\n    instances: 1\n    applyDelay: 1h\n", null,
            "replication.number must not exceed"),
        Arguments.of("delayed replicas leave no promotable standby", "instances: 3\nstorage:\n  size: 1Gi\n"
            + "replication:\n  delayedReplicas:\n    instances: 2\n    applyDelay: 1h\n", null,
            "delayedReplicas.instances must leave at least one promotable"),
        Arguments.of("apply delay without unit", BASE + "replication:\n  delayedReplicas:\n    instances: 1\n"
            + "    applyDelay: \"3600\"\n", null, "does not match"),
        Arguments.of("probe period out of range", BASE + "failover:\n  probePeriodSeconds: 0\n", null,
            "minimum value of 1"),
        Arguments.of("lease shorter than 3 s", BASE + "failover:\n  leaseDurationSeconds: 2\n", null,
            "minimum value of 3"),
        Arguments.of("declared role reserved by PostgreSQL", BASE + "roles:\n  - name: pg_monitor\n", null,
            "a declared role may not be a role reserved by PostgreSQL"),
        Arguments.of("declared role the operator uses", BASE + "roles:\n  - name: replication\n", null,
            "a declared role may not be a role reserved by PostgreSQL (pg_*, public) or the operator"),
        Arguments.of("declared role not an identifier", BASE + "roles:\n  - name: Alice\n", null, "does not match"),
        Arguments.of("declared role twice", BASE + "roles:\n  - name: alice\n  - name: alice\n    login: false\n", null,
            "roles: each name may be declared once"),
        Arguments.of("declared role is the owner", BASE + "roles:\n  - name: app\n", null,
            "roles: the database owner (bootstrap.owner) is kept with its own Secret"),
        Arguments.of("declared role member of the superuser", BASE + "roles:\n  - name: alice\n    inRoles: [postgres]\n",
            null, "inRoles may not give the operator's roles"),
        Arguments.of("declared role given the server's programs", BASE + "roles:\n  - name: alice\n"
            + "    inRoles: [pg_execute_server_program]\n", null, "inRoles may not give the operator's roles"),
        Arguments.of("declared role ensure unknown", BASE + "roles:\n  - name: alice\n    ensure: gone\n", null, "enum"),
        Arguments.of("reserved owner role", BASE + "bootstrap:\n  owner: postgres\n", null,
            "bootstrap.owner may not be a role reserved"),
        Arguments.of("database name with a dash", BASE + "bootstrap:\n  database: my-app\n", null, "does not match"),
        Arguments.of("storage shrinks", "instances: 3\nstorage:\n  size: 5Gi\n", BASE, "spec.storage.size: "
            + "the size may not shrink"),
        Arguments.of("storage class changes", BASE + "  storageClass: fast\n", BASE + "  storageClass: slow\n",
            "the storageClass is immutable"),
        Arguments.of("database renamed", BASE + "bootstrap:\n  database: other\n", BASE + "bootstrap:\n  database: app\n",
            "bootstrap.database is immutable"),
        Arguments.of("image with a space", BASE + "image: \"postgres 16\"\n", null, "does not match"),
        Arguments.of("pooler pool mode unknown", BASE + "pooler:\n  poolMode: connection\n", null,
            "spec.pooler.poolMode"),
        Arguments.of("pooler pool size 0", BASE + "pooler:\n  defaultPoolSize: 0\n", null,
            "spec.pooler.defaultPoolSize"),
        Arguments.of("read-only pooler of 21 pods", BASE + "pooler:\n  readOnlyInstances: 21\n", null,
            "spec.pooler.readOnlyInstances"),
        Arguments.of("pooler with 21 pods", BASE + "pooler:\n  instances: 21\n", null,
            "spec.pooler.instances"),
        Arguments.of("TLS required but not enabled", BASE + "tls:\n  required: true\n", null,
            "tls.required needs tls.enabled"),
        Arguments.of("TLS turned on on a running cluster", BASE + "tls:\n  enabled: true\n", BASE,
            "tls.enabled is chosen when the cluster is created"),
        Arguments.of("WAL volume added to a running cluster", BASE + "walStorage:\n  size: 1Gi\n", BASE,
            "walStorage is chosen when the cluster is created"),
        Arguments.of("WAL volume removed from a running cluster", BASE, BASE + "walStorage:\n  size: 1Gi\n",
            "walStorage is chosen when the cluster is created"),
        Arguments.of("WAL volume shrunk", BASE + "walStorage:\n  size: 1Gi\n", BASE + "walStorage:\n  size: 2Gi\n",
            "spec.walStorage.size: the size may not shrink"),
        Arguments.of("WAL volume without a size", BASE + "walStorage:\n  storageClass: fast\n", null,
            "spec.walStorage: required property 'size'"),
        Arguments.of("logical replication taken out", BASE, BASE + "logicalReplication:\n  nodeName: dc1\n",
            "logicalReplication cannot be taken out of a running cluster"),
        Arguments.of("logical replication with an unknown conflict rule", BASE + "logicalReplication:\n"
            + "  conflictResolution: newest\n", null, "enum"),
        Arguments.of("logical replication, a subscription named twice", BASE + "logicalReplication:\n  subscriptions:\n"
            + "    - {name: a, host: h, credentials: {secret: s}}\n    - {name: a, host: h2, credentials: {secret: s}}\n",
            null, "each name may be used once"),
        Arguments.of("TLS secret name with a slash", BASE + "tls:\n  enabled: true\n  serverSecret: ns/pg-tls\n", null,
            "does not match"),
        Arguments.of("toleration with an unknown operator", BASE + "scheduling:\n  tolerations:\n"
            + "    - key: dedicated\n      operator: Maybe\n      value: db\n", null,
            "scheduling.tolerations: operator is Exists or Equal"),
        Arguments.of("toleration with an unknown effect", BASE + "scheduling:\n  tolerations:\n"
            + "    - key: dedicated\n      operator: Equal\n      value: db\n      effect: Never\n", null,
            "scheduling.tolerations: operator is Exists or Equal"),
        Arguments.of("toleration Exists with a value", BASE + "scheduling:\n  tolerations:\n"
            + "    - key: dedicated\n      operator: Exists\n      value: db\n", null,
            "scheduling.tolerations: operator is Exists or Equal"),
        Arguments.of("unknown anti-affinity", BASE + "scheduling:\n  podAntiAffinity: always\n", null, "enum"),
        Arguments.of("an operator label on the pods", BASE + "podMetadata:\n  labels:\n    pgcluster.dev/role: primary\n",
            null, "labels under pgcluster.dev/ and app.kubernetes.io/ are the operator's"),
        Arguments.of("an operator annotation on the service account", BASE + "serviceAccountMetadata:\n  annotations:\n"
            + "    pgcluster.dev/holder: me\n", null, "annotations under pgcluster.dev/ are the operator's"));
  }

  public static Stream<Arguments> valid() {
    return Stream.of(
        Arguments.of("minimal 3-instance async", BASE, null),
        Arguments.of("tolerations as a pod spec has them", BASE + "scheduling:\n  tolerations:\n"
            + "    - key: dedicated\n      operator: Equal\n      value: db\n      effect: NoSchedule\n"
            + "    - key: node.kubernetes.io/unreachable\n      operator: Exists\n      effect: NoExecute\n"
            + "      tolerationSeconds: 30\n    - operator: Exists\n", null),
        Arguments.of("a WAL volume", BASE + "walStorage:\n  size: 2Gi\n  storageClass: fast\n", null),
        Arguments.of("a WAL volume grown", BASE + "walStorage:\n  size: 4Gi\n", BASE + "walStorage:\n  size: 2Gi\n"),
        Arguments.of("declared roles", BASE + "roles:\n  - name: team\n    login: false\n  - name: alice\n"
            + "    inRoles: [team, pg_read_all_data]\n    passwordSecret:\n      name: alice-pw\n  - name: old\n"
            + "    ensure: absent\n", null),
        Arguments.of("backups with a schedule", BASE + BACKUP + "  schedule: \"0 3 * * *\"\n  retention:\n"
            + "    fullBackups: 3\n", null),
        Arguments.of("restore to a time", BASE + BACKUP + "bootstrap:\n  recovery:\n    source: shop\n"
            + "    target:\n      time: \"2026-12-01T09:30:00.123+01:00\"\n", null),
        Arguments.of("sync ANY 1", BASE + "replication:\n  mode: sync\n  number: 1\n", null),
        Arguments.of("sync FIRST 2 of 4", "instances: 4\nstorage:\n  size: 1Gi\nreplication:\n  mode: sync\n"
            + "  method: first\n  number: 2\n  durability: preferred\n  synchronousCommit: remote_apply\n", null),
        Arguments.of("delayed standby", "instances: 4\nstorage:\n  size: 1Gi\nreplication:\n  delayedReplicas:\n"
            + "    instances: 1\n    applyDelay: 1h\n", null),
        Arguments.of("storage grows", "instances: 3\nstorage:\n  size: 20Gi\n", BASE),
        Arguments.of("scheduled apart across zones on tainted nodes", BASE + "scheduling:\n"
            + "  podAntiAffinity: required\n  topologyKey: topology.kubernetes.io/zone\n"
            + "  nodeSelector:\n    workload: databases\n"
            + "  tolerations:\n  - key: dedicated\n    operator: Equal\n    value: postgres\n    effect: NoSchedule\n"
            + "  topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: kubernetes.io/hostname\n"
            + "    whenUnsatisfiable: ScheduleAnyway\n"
            + "  priorityClassName: databases\n"
            + "podMetadata:\n  labels:\n    team: payments\n  annotations:\n    backup.velero.io/backup-volumes: pgdata\n"
            + "serviceAccountMetadata:\n  annotations:\n    azure.workload.identity/client-id: 0000-1111\n", null),
        Arguments.of("TLS required, the operator's CA", BASE + "tls:\n  enabled: true\n  required: true\n", null),
        Arguments.of("TLS turned off", BASE, BASE + "tls:\n  enabled: true\n"),
        Arguments.of("TLS from cert-manager", BASE + "tls:\n  enabled: true\n  serverSecret: pg-tls\n", null),
        Arguments.of("pooler with its defaults", BASE + "pooler: {}\n", null),
        Arguments.of("pooler in transaction mode", BASE + "pooler:\n  poolMode: transaction\n  instances: 3\n", null),
        Arguments.of("scale and tune", "instances: 5\nstorage:\n  size: 10Gi\npostgresql:\n  parameters:\n"
            + "    max_connections: \"200\"\n", BASE));
  }

  /**
   * The part of the API server's message for a case's expected message: CEL rules answer with their own
   * message; schema violations are worded by the API server differently from the in-process validator.
   */
  public static String apiServerMessage(String expected) {
    if (expected.startsWith("minimum value of ")) {
      return "should be greater than or equal to " + expected.substring("minimum value of ".length());
    }
    if (expected.startsWith("maximum value of ")) {
      return "should be less than or equal to " + expected.substring("maximum value of ".length());
    }
    return switch (expected) {
      case "does not match" -> "should match";
      case "spec.walStorage: required property 'size'" -> "spec.walStorage.size: Required value";
      // The API server names the refused value (the shrunk size of those two cases).
      case "spec.storage.size: the size may not shrink" ->
          "spec.storage.size: Invalid value: \"5Gi\": the size may not shrink";
      case "spec.walStorage.size: the size may not shrink" ->
          "spec.walStorage.size: Invalid value: \"1Gi\": the size may not shrink";
      case "enum" -> "supported values";
      case "instances", "storage" -> "spec." + expected + ": Required value";
      default -> expected;
    };
  }
}
