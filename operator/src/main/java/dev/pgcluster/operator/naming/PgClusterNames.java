package dev.pgcluster.operator.naming;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;

/** Every name derived from a cluster's name, in one place. */
public final class PgClusterNames {

  /** The PostgreSQL port every instance listens on and every Service exposes. */
  public static final int POSTGRES_PORT = 5432;
  public static final String SUPERUSER = "postgres";
  public static final String REPLICATION_USER = "replication";
  /** The port PgBouncer listens on in the pooler's pods and its Service exposes. */
  public static final int POOLER_PORT = 6432;
  /** The role PgBouncer looks passwords up with (auth_query) and the operator runs its admin console as. */
  public static final String POOLER_USER = "pgcluster_pooler";
  /** Slot names are {@code pgc_} + the pod name with '-' replaced: must match bootstrap.sh. */
  public static final String SLOT_PREFIX = "pgc_";

  private final String cluster;

  private PgClusterNames(String cluster) {
    this.cluster = cluster;
  }

  public static PgClusterNames of(PgCluster resource) {
    return new PgClusterNames(resource.getMetadata().getName());
  }

  public static PgClusterNames of(String clusterName) {
    return new PgClusterNames(clusterName);
  }

  public String cluster() {
    return cluster;
  }

  public String statefulSet() {
    return cluster;
  }

  /** Headless Service governing the StatefulSet: stable per-pod DNS names. */
  public String headlessService() {
    return cluster;
  }

  public String readWriteService() {
    return cluster + "-rw";
  }

  public String readOnlyService() {
    return cluster + "-ro";
  }

  /** Any instance, primary included: for reads that tolerate lag. */
  public String readAnyService() {
    return cluster + "-r";
  }

  /** The pooler's Deployment and ConfigMap, and the Secret with its role's password. */
  public String pooler() {
    return cluster + "-pooler";
  }

  /** The read-only pooler's Deployment and Service: PgBouncer in front of the -ro Service. */
  public String poolerReadOnly() {
    return cluster + "-pooler-ro";
  }

  /** The pooler's Service: PgBouncer in front of the primary. */
  public String poolerService() {
    return cluster + "-pooler-rw";
  }

  public String configMap() {
    return cluster + "-config";
  }

  /** The pods' start-up view of the primary Lease (primary name, initialized flag). */
  public String topologyConfigMap() {
    return cluster + "-topology";
  }

  public String superuserSecret() {
    return cluster + "-superuser";
  }

  public String replicationSecret() {
    return cluster + "-replication";
  }

  public String appSecret() {
    return cluster + "-app";
  }

  /** The cluster's certificate authority (ca.crt, ca.key): the operator's alone. */
  public String caSecret() {
    return cluster + "-ca";
  }

  /** The instances' server certificate (tls.crt, tls.key, ca.crt), issued by the cluster's CA. */
  public String serverSecret() {
    return cluster + "-server";
  }

  /** The instance pods' ServiceAccount (and its Role and RoleBinding): the agent renews the primary Lease. */
  public String instanceServiceAccount() {
    return cluster + "-instance";
  }

  public String primaryLease() {
    return cluster + "-primary";
  }

  public String podDisruptionBudget() {
    return cluster;
  }

  public String dataVolumeClaimTemplate() {
    return "pgdata";
  }

  /** The claim template of the WAL volumes (spec.walStorage). */
  public String walVolumeClaimTemplate() {
    return "pgwal";
  }

  public String pod(int ordinal) {
    return cluster + "-" + ordinal;
  }

  public String pvc(int ordinal) {
    return dataVolumeClaimTemplate() + "-" + pod(ordinal);
  }

  /** Ordinal of a pod of this cluster's StatefulSet, or -1 when the name is not one of them. */
  public int ordinalOf(String podName) {
    String prefix = cluster + "-";
    if (!podName.startsWith(prefix)) {
      return -1;
    }
    try {
      return Integer.parseInt(podName.substring(prefix.length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  public static String slotName(String podName) {
    return SLOT_PREFIX + podName.replace('-', '_');
  }
}
