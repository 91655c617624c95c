package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PoolerSpec;
import dev.pgcluster.operator.api.v1alpha1.TlsSpec;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pooler (spec.pooler): PgBouncer pods in a Deployment, reached through {@code <name>-pooler-rw},
 * connecting to the primary through {@code <name>-rw}; optionally a second Deployment behind
 * {@code <name>-pooler-ro}, connecting to the standbys through {@code <name>-ro}. Client passwords are looked up in the database
 * (auth_query, through a function only the pooler role may call): no user list is rendered anywhere.
 */
public final class PoolerRenderer {
  public static final String INI = "pgbouncer.ini";
  public static final String SCRIPT = "pooler.sh";
  /** Selects a cluster's pooler pods; they carry no cluster label, so no instance Service or PDB selects them. */
  public static final String POOLER_LABEL = "pgcluster.dev/pooler";
  /** Selects a cluster's read-only pooler pods (and not the others: the -rw pooler's Service must not). */
  public static final String READ_ONLY_POOLER_LABEL = "pgcluster.dev/pooler-ro";

  /**
   * Which Service a pooler is in front of: the primary's (spec.pooler.instances) or the standbys'
   * (spec.pooler.readOnlyInstances).
   */
  public enum Target {
    READ_WRITE,
    READ_ONLY;

    /** The Deployment and its ConfigMap (the -rw pooler's also names the pooler role's Secret). */
    public String name(PgClusterNames names) {
      return this == READ_WRITE ? names.pooler() : names.poolerReadOnly();
    }

    String service(PgClusterNames names) {
      return this == READ_WRITE ? names.poolerService() : names.poolerReadOnly();
    }

    String upstream(PgClusterNames names) {
      return this == READ_WRITE ? names.readWriteService() : names.readOnlyService();
    }

    int replicas(PoolerSpec pooler) {
      return this == READ_WRITE ? pooler.instances : pooler.readOnlyInstances();
    }
  }
  /** The rendered pgbouncer.ini's hash on the pod template: a configuration change rolls the pods. */
  public static final String CONFIG_HASH = "pgcluster.dev/pooler-config-hash";
  /** The schema and function PgBouncer's auth_query calls (see reconcile.PoolerAuth). */
  public static final String LOOKUP_FUNCTION = PgClusterNames.POOLER_USER + ".lookup";
  static final String CONFIG_MOUNT = "/etc/pgcluster/pooler";
  static final String RUN_MOUNT = "/var/run/pgbouncer";
  static final String CA_MOUNT = "/etc/pgcluster/tls";
  /** The pgbouncer user of the common pooler images. */
  static final long POOLER_UID = 998;

  private PoolerRenderer() {}

  /** The pooler pods' labels. */
  public static Map<String, String> podLabels(PgCluster cluster, Target target) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(Labels.NAME, "pgbouncer");
    labels.put(Labels.INSTANCE, cluster.getMetadata().getName());
    labels.put(Labels.MANAGED_BY, Labels.MANAGER);
    labels.put(Labels.COMPONENT, target == Target.READ_WRITE ? "pooler" : "pooler-ro");
    labels.putAll(podSelector(cluster, target));
    return labels;
  }

  public static Map<String, String> podSelector(PgCluster cluster, Target target) {
    return Map.of(target == Target.READ_WRITE ? POOLER_LABEL : READ_ONLY_POOLER_LABEL, cluster.getMetadata().getName());
  }

  /** The password of the pooler role: generated once, kept with the data like the other credentials. */
  public static io.fabric8.kubernetes.api.model.Secret secret(PgCluster cluster, java.security.SecureRandom random) {
    return SecretRenderer.credentials(cluster, PgClusterNames.of(cluster).pooler(), PgClusterNames.POOLER_USER, random);
  }

  public static String ini(PgCluster cluster, Target target) {
    PoolerSpec pooler = cluster.getSpec().pooler;
    PgClusterNames names = PgClusterNames.of(cluster);
    List<String> lines = new ArrayList<>();
    lines.add("; Rendered by pgcluster-operator from spec.pooler; pooler.sh adds the pod's address and file paths.");
    lines.add("[databases]");
    if (target == Target.READ_WRITE) {
      // Every database, on whichever instance the -rw Service routes to: the primary.
      lines.add("* = host=" + names.readWriteService() + " port=" + PgClusterNames.POSTGRES_PORT);
    } else {
      // Every database, on the standbys behind -ro. Each server session is made read-only, so that one
      // on a standby promoted under it takes no write either (the operator also has these pods reconnect
      // when the primary changes).
      lines.add("* = host=" + names.readOnlyService() + " port=" + PgClusterNames.POSTGRES_PORT
          + " connect_query='SET default_transaction_read_only = on'");
    }
    lines.add("");
    lines.add("[pgbouncer]");
    lines.add("listen_port = " + PgClusterNames.POOLER_PORT);
    lines.add("pool_mode = " + pooler.poolMode.value());
    lines.add("default_pool_size = " + pooler.defaultPoolSize);
    lines.add("max_client_conn = " + pooler.maxClientConnections);
    lines.add("auth_type = scram-sha-256");
    lines.add("auth_user = " + PgClusterNames.POOLER_USER);
    lines.add("auth_query = SELECT usename, passwd FROM " + LOOKUP_FUNCTION + "($1)");
    lines.add("admin_users = " + PgClusterNames.POOLER_USER);
    lines.add("stats_users = " + PgClusterNames.POOLER_USER);
    // JDBC sends extra_float_digits at start-up; PgBouncer would refuse the connection otherwise.
    lines.add("ignore_startup_parameters = extra_float_digits");
    // While the primary moves, connecting fails for a few seconds: retry each second, not every 15.
    lines.add("server_login_retry = 1");
    lines.add("server_connect_timeout = 5");
    // A server connection to a node that vanished must not hang for the kernel's two hours.
    lines.add("tcp_keepalive = 1");
    lines.add("tcp_keepidle = 10");
    lines.add("tcp_keepintvl = 5");
    lines.add("tcp_keepcnt = 3");
    lines.add("log_connections = 0");
    lines.add("log_disconnections = 0");
    if (target == Target.READ_ONLY && pooler.poolMode == dev.pgcluster.operator.api.v1alpha1.PoolMode.SESSION) {
      // In session mode a released server connection is reset for the next client. The default, DISCARD
      // ALL, would turn read-only off again and cannot share a query with a SET: its parts, then the SET.
      lines.add("server_reset_query = " + READ_ONLY_RESET);
    }
    return String.join("\n", lines) + "\n";
  }

  /** What DISCARD ALL does, each part allowed in one multi-statement query, then read-only again. */
  static final String READ_ONLY_RESET = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL;"
      + " UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES;"
      + " SET default_transaction_read_only = on";

  /** Each pooler has a ConfigMap of its own (pgbouncer.ini and the start script), named like its Deployment. */
  public static ConfigMap configMap(PgCluster cluster, Target target) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(INI, ini(cluster, target));
    data.put(SCRIPT, ConfigMapRenderer.script(SCRIPT));
    return new ConfigMapBuilder()
        .withMetadata(Owned.metadata(cluster, target.name(PgClusterNames.of(cluster))))
        .withData(data)
        .build();
  }

  public static Service service(PgCluster cluster, Target target) {
    return new ServiceBuilder()
        .withMetadata(Owned.metadata(cluster, target.service(PgClusterNames.of(cluster))))
        .withNewSpec()
        .withType("ClusterIP")
        .withSelector(podSelector(cluster, target))
        // The usual PostgreSQL port: an application moves to the pooler by changing the host name only.
        .addNewPort().withName("postgres").withProtocol("TCP").withPort(PgClusterNames.POSTGRES_PORT)
        .withTargetPort(new IntOrString("pgbouncer")).endPort()
        .endSpec()
        .build();
  }

  /**
   * @param credentials a hash of the pooler role's password: the pods read it at start, so a changed
   *     password must roll them
   */
  public static Deployment deployment(PgCluster cluster, String credentials, Target target) {
    PoolerSpec pooler = cluster.getSpec().pooler;
    PgClusterNames names = PgClusterNames.of(cluster);
    return new DeploymentBuilder()
        .withMetadata(Owned.metadata(cluster, target.name(names)))
        .withNewSpec()
        .withReplicas(target.replicas(pooler))
        .withNewSelector().withMatchLabels(podSelector(cluster, target)).endSelector()
        // One pod more during a rollout, never one less: the Service always has its full count.
        .withNewStrategy().withType("RollingUpdate").withNewRollingUpdate()
        .withMaxUnavailable(new IntOrString(0)).withMaxSurge(new IntOrString(1)).endRollingUpdate().endStrategy()
        .withNewTemplate()
        .withNewMetadata().withLabels(podLabels(cluster, target))
        .withAnnotations(Map.of(CONFIG_HASH, hash(ini(cluster, target) + ConfigMapRenderer.script(SCRIPT) + credentials)))
        .endMetadata()
        .withNewSpec()
        .withTerminationGracePeriodSeconds(30L)
        .withAutomountServiceAccountToken(false)
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(POOLER_UID)
        .withRunAsGroup(POOLER_UID)
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .endSecurityContext()
        // Pooler pods spread across nodes when they can: losing one node leaves the others serving.
        .withNewAffinity().withNewPodAntiAffinity().addNewPreferredDuringSchedulingIgnoredDuringExecution()
        .withWeight(100).withNewPodAffinityTerm().withTopologyKey("kubernetes.io/hostname")
        .withNewLabelSelector().withMatchLabels(podSelector(cluster, target)).endLabelSelector().endPodAffinityTerm()
        .endPreferredDuringSchedulingIgnoredDuringExecution().endPodAntiAffinity().endAffinity()
        .addNewContainer()
        .withName("pgbouncer")
        .withImage(pooler.image)
        .withCommand("sh", CONFIG_MOUNT + "/" + SCRIPT)
        .withEnv(env(cluster))
        .addNewPort().withName("pgbouncer").withContainerPort(PgClusterNames.POOLER_PORT).withProtocol("TCP").endPort()
        .withReadinessProbe(new ProbeBuilder()
            .withNewTcpSocket().withPort(new IntOrString(PgClusterNames.POOLER_PORT)).endTcpSocket()
            .withPeriodSeconds(2).withTimeoutSeconds(2).withFailureThreshold(2).build())
        .withLivenessProbe(new ProbeBuilder()
            .withNewTcpSocket().withPort(new IntOrString(PgClusterNames.POOLER_PORT)).endTcpSocket()
            .withInitialDelaySeconds(5).withPeriodSeconds(10).withTimeoutSeconds(5).withFailureThreshold(6).build())
        .withResources(pooler.resources)
        .withVolumeMounts(mounts(cluster))
        .withSecurityContext(StatefulSetRenderer.containerSecurity())
        .endContainer()
        .withVolumes(volumes(cluster, target))
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  static List<EnvVar> env(PgCluster cluster) {
    List<EnvVar> env = new ArrayList<>();
    env.add(new EnvVarBuilder().withName("POD_IP").withNewValueFrom().withNewFieldRef().withFieldPath("status.podIP")
        .endFieldRef().endValueFrom().build());
    env.add(new EnvVarBuilder().withName("POOLER_CONFIG_DIR").withValue(CONFIG_MOUNT).build());
    env.add(new EnvVarBuilder().withName("POOLER_RUN_DIR").withValue(RUN_MOUNT).build());
    env.add(new EnvVarBuilder().withName("POOLER_USER").withValue(PgClusterNames.POOLER_USER).build());
    env.add(new EnvVarBuilder().withName("POOLER_PASSWORD").withNewValueFrom().withNewSecretKeyRef()
        .withName(PgClusterNames.of(cluster).pooler()).withKey(SecretRenderer.PASSWORD).endSecretKeyRef()
        .endValueFrom().build());
    if (TlsSpec.enabled(cluster.getSpec())) {
      env.add(new EnvVarBuilder().withName("POOLER_CA_FILE").withValue(CA_MOUNT + "/ca.crt").build());
    }
    return env;
  }

  static List<VolumeMount> mounts(PgCluster cluster) {
    List<VolumeMount> mounts = new ArrayList<>(List.of(
        new VolumeMountBuilder().withName("config").withMountPath(CONFIG_MOUNT).withReadOnly(true).build(),
        new VolumeMountBuilder().withName("run").withMountPath(RUN_MOUNT).build()));
    if (TlsSpec.enabled(cluster.getSpec())) {
      mounts.add(new VolumeMountBuilder().withName("ca").withMountPath(CA_MOUNT).withReadOnly(true).build());
    }
    return mounts;
  }

  static List<Volume> volumes(PgCluster cluster, Target target) {
    List<Volume> volumes = new ArrayList<>(List.of(
        new VolumeBuilder().withName("config").withNewConfigMap().withName(target.name(PgClusterNames.of(cluster)))
            .endConfigMap().build(),
        new VolumeBuilder().withName("run").withNewEmptyDir().endEmptyDir().build()));
    if (TlsSpec.enabled(cluster.getSpec())) {
      // Only the CA's certificate, from the server certificate's Secret: never a private key.
      volumes.add(new VolumeBuilder().withName("ca").withNewSecret().withSecretName(StatefulSetRenderer.tlsSecret(cluster))
          .addNewItem().withKey("ca.crt").withPath("ca.crt").endItem().endSecret().build());
    }
    return volumes;
  }

  /** A short SHA-256 of {@code text}, for annotations that change when it does. */
  public static String hash(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(text.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
