package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.StorageSpec;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.api.v1alpha1.PodAntiAffinityType;
import dev.pgcluster.operator.api.v1alpha1.SchedulingSpec;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.PodAffinityTerm;
import io.fabric8.kubernetes.api.model.PodAffinityTermBuilder;
import io.fabric8.kubernetes.api.model.PodAntiAffinity;
import io.fabric8.kubernetes.api.model.PodAntiAffinityBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraintBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The StatefulSet running the instances. Pods start in parallel (a standby's init container waits for
 * the primary) and are only replaced when deleted (OnDelete): the operator decides when an instance
 * restarts, never the StatefulSet controller.
 */
public final class StatefulSetRenderer {
  /** uid/gid of the postgres user in the official postgres images. */
  public static final long POSTGRES_UID = 999L;
  static final String DATA_MOUNT = "/var/lib/postgresql/data";
  static final String PGDATA = DATA_MOUNT + "/pgdata";
  /** Where the WAL volume (spec.walStorage) is mounted; pg_wal in the data directory links to WAL_DIR. */
  static final String WAL_MOUNT = "/var/lib/postgresql/wal";
  static final String WAL_DIR = WAL_MOUNT + "/pg_wal";
  static final String CONFIG_MOUNT = "/etc/pgcluster/config";
  static final String TOPOLOGY_MOUNT = "/etc/pgcluster/topology";
  static final String SOCKET_MOUNT = "/var/run/postgresql";
  static final String TLS_MOUNT = "/etc/pgcluster/tls";
  /**
   * Where PostgreSQL reads its certificate, key and CA: copies of the Secret's files that only the
   * postgres user reads (PostgreSQL refuses a key others may read). run.sh fills it at start; the agent
   * replaces the files when the Secret changes and reloads the server (agent.ServedCertificate).
   */
  static final String TLS_SERVED_DIR = SOCKET_MOUNT + "/tls";
  public static final String BOOTSTRAP_CONTAINER = "bootstrap";
  public static final String POSTGRES_CONTAINER = "postgres";

  /**
   * Pod deletion sends SIGTERM, which PostgreSQL takes as a smart shutdown that waits for every client
   * to leave; a fast shutdown (checkpoint, disconnect clients) keeps deletion and switchover short.
   */
  static final List<String> FAST_SHUTDOWN =
      List.of("bash", "-c", "pg_ctl stop -D \"$PGDATA\" -m fast -w -t 25");

  private StatefulSetRenderer() {}

  /** The operator's own image, which also runs the agent (chart: PGC_AGENT_IMAGE). */
  public static final String DEFAULT_AGENT_IMAGE = "ghcr.io/pgcluster/pgcluster-operator:0.1.0";
  public static final String AGENT_CONTAINER = "agent";

  public static StatefulSet render(PgCluster cluster) {
    return render(cluster, DEFAULT_AGENT_IMAGE);
  }

  public static StatefulSet render(PgCluster cluster, String agentImage) {
    PgClusterSpec spec = cluster.getSpec();
    PgClusterNames names = PgClusterNames.of(cluster);
    return new StatefulSetBuilder()
        .withMetadata(Owned.metadata(cluster, names.statefulSet()))
        .withNewSpec()
        .withReplicas(spec.instances)
        .withServiceName(names.headlessService())
        .withPodManagementPolicy("Parallel")
        .withNewUpdateStrategy().withType("OnDelete").endUpdateStrategy()
        .withNewSelector().withMatchLabels(Labels.clusterSelector(cluster)).endSelector()
        .withNewTemplate()
        .withNewMetadata().withLabels(podLabels(cluster)).withAnnotations(podAnnotations(cluster)).endMetadata()
        .withNewSpec()
        .withTerminationGracePeriodSeconds(30L)
        .withServiceAccountName(names.instanceServiceAccount())
        // The agent stops the postmaster by signal when SQL does not get through (see agent.LocalPostgres).
        .withShareProcessNamespace(true)
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(POSTGRES_UID)
        .withRunAsGroup(POSTGRES_UID)
        .withFsGroup(POSTGRES_UID)
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .endSecurityContext()
        .withAffinity(affinity(cluster))
        .withNodeSelector(scheduling(cluster).nodeSelector == null ? null
            : new java.util.LinkedHashMap<>(scheduling(cluster).nodeSelector))
        .withTolerations(scheduling(cluster).tolerations)
        .withTopologySpreadConstraints(topologySpread(cluster))
        .withPriorityClassName(scheduling(cluster).priorityClassName)
        .withInitContainers(bootstrapContainer(cluster))
        .withContainers(postgresContainer(cluster), agentContainer(cluster, agentImage))
        .withVolumes(volumes(cluster))
        .endSpec()
        .endTemplate()
        .withVolumeClaimTemplates(claims(cluster))
        .endSpec()
        .build();
  }

  private static SchedulingSpec scheduling(PgCluster cluster) {
    return cluster.getSpec().scheduling == null ? new SchedulingSpec() : cluster.getSpec().scheduling;
  }

  /** The user's labels, then the operator's: the Services and the StatefulSet select on those. */
  static Map<String, String> podLabels(PgCluster cluster) {
    Map<String, String> labels = new java.util.LinkedHashMap<>();
    if (cluster.getSpec().podMetadata != null && cluster.getSpec().podMetadata.labels != null) {
      labels.putAll(cluster.getSpec().podMetadata.labels);
    }
    labels.putAll(Labels.common(cluster));
    return labels;
  }

  /**
   * Set on the PgCluster (by {@code kubectl pgc restart}, or by hand) to restart every instance: copied
   * to the pod template, so the change rolls out like any other, standbys first and the primary by a
   * switchover. The key kubectl rollout restart uses on workloads.
   */
  public static final String RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";

  static Map<String, String> podAnnotations(PgCluster cluster) {
    var metadata = cluster.getSpec().podMetadata;
    Map<String, String> annotations = metadata == null || metadata.annotations == null ? new java.util.LinkedHashMap<>()
        : new java.util.LinkedHashMap<>(metadata.annotations);
    Map<String, String> own = cluster.getMetadata().getAnnotations();
    if (own != null && own.get(RESTARTED_AT) != null) {
      annotations.put(RESTARTED_AT, own.get(RESTARTED_AT));
    }
    return annotations.isEmpty() ? null : annotations;
  }

  /**
   * Instances apart across the topology key (a primary and its standbys on one node share its fate),
   * preferred unless the spec says otherwise, plus the user's node affinity.
   */
  static Affinity affinity(PgCluster cluster) {
    SchedulingSpec scheduling = scheduling(cluster);
    PodAffinityTerm apart = new PodAffinityTermBuilder()
        .withTopologyKey(scheduling.topologyKey == null ? "kubernetes.io/hostname" : scheduling.topologyKey)
        .withNewLabelSelector().withMatchLabels(Labels.clusterSelector(cluster)).endLabelSelector()
        .build();
    PodAntiAffinityType type = scheduling.podAntiAffinity == null ? PodAntiAffinityType.PREFERRED
        : scheduling.podAntiAffinity;
    PodAntiAffinity antiAffinity = switch (type) {
      case REQUIRED -> new PodAntiAffinityBuilder().addToRequiredDuringSchedulingIgnoredDuringExecution(apart).build();
      case NONE, UNKNOWN -> null;  // UNKNOWN never gets here: the spec is refused first (SpecValidator)
      case PREFERRED -> new PodAntiAffinityBuilder().addNewPreferredDuringSchedulingIgnoredDuringExecution()
          .withWeight(100).withPodAffinityTerm(apart).endPreferredDuringSchedulingIgnoredDuringExecution().build();
    };
    if (antiAffinity == null && scheduling.nodeAffinity == null) {
      return null;
    }
    return new AffinityBuilder().withPodAntiAffinity(antiAffinity).withNodeAffinity(scheduling.nodeAffinity).build();
  }

  /** The user's constraints; one without a selector counts this cluster's instances. */
  static List<TopologySpreadConstraint> topologySpread(PgCluster cluster) {
    List<TopologySpreadConstraint> given = scheduling(cluster).topologySpreadConstraints;
    if (given == null) {
      return null;
    }
    return given.stream().map(c -> c.getLabelSelector() != null ? c
        : new TopologySpreadConstraintBuilder(c).withNewLabelSelector()
            .withMatchLabels(Labels.clusterSelector(cluster)).endLabelSelector().build()).toList();
  }

  static Container bootstrapContainer(PgCluster cluster) {
    return new ContainerBuilder()
        .withName(BOOTSTRAP_CONTAINER)
        .withImage(cluster.getSpec().image)
        .withCommand("bash", CONFIG_MOUNT + "/" + ConfigMapRenderer.BOOTSTRAP_SCRIPT)
        .withEnv(bootstrapEnv(cluster))
        .withVolumeMounts(mounts(cluster))
        .withSecurityContext(containerSecurity())
        .build();
  }

  /** The rewind report (what pg_rewind discarded) is the init container's termination message. */
  static List<EnvVar> bootstrapEnv(PgCluster cluster) {
    List<EnvVar> env = new ArrayList<>(env(cluster));
    env.add(value("REJOIN_REPORT", "/dev/termination-log"));
    env.addAll(BackupRenderer.recoveryEnv(cluster));
    return env;
  }

  static Container postgresContainer(PgCluster cluster) {
    return new ContainerBuilder()
        .withName(POSTGRES_CONTAINER)
        .withImage(cluster.getSpec().image)
        .withCommand("bash", CONFIG_MOUNT + "/" + ConfigMapRenderer.RUN_SCRIPT)
        .withEnv(env(cluster))
        .addNewPort().withName("postgres").withContainerPort(PgClusterNames.POSTGRES_PORT).withProtocol("TCP").endPort()
        .withResources(cluster.getSpec().resources)
        .withVolumeMounts(mounts(cluster))
        .withNewLifecycle().withNewPreStop().withNewExec().withCommand(FAST_SHUTDOWN).endExec().endPreStop()
        .endLifecycle()
        .withReadinessProbe(readinessProbe())
        .withLivenessProbe(livenessProbe())
        .withSecurityContext(containerSecurity())
        .build();
  }

  /**
   * The agent: renews the primary Lease while its instance is the primary and fences it when it cannot
   * (docs/high-availability.md, "Self-fencing"). A small heap; it holds one API client and one SQL session.
   */
  static Container agentContainer(PgCluster cluster, String image) {
    PgClusterNames names = PgClusterNames.of(cluster);
    List<EnvVar> env = new ArrayList<>();
    env.add(fieldRef("POD_NAME", "metadata.name"));
    env.add(fieldRef("POD_NAMESPACE", "metadata.namespace"));
    env.add(fieldRef("POD_IP", "status.podIP"));
    env.add(value("PGDATA", PGDATA));
    if (cluster.getSpec().walStorage != null) {
      env.add(value("PG_WAL_DIR", WAL_DIR));
    }
    env.add(value("PGPORT", Integer.toString(PgClusterNames.POSTGRES_PORT)));
    env.add(value("PRIMARY_LEASE", names.primaryLease()));
    String superuserSecret = cluster.getSpec().bootstrap.superuserSecret != null
        ? cluster.getSpec().bootstrap.superuserSecret : names.superuserSecret();
    env.add(secretRef("PG_SUPERUSER_PASSWORD", superuserSecret, SecretRenderer.PASSWORD));
    env.add(value("PGC_LOG_FORMAT", "text"));
    // The agent takes base backups (pgBackRest over the local socket, as the superuser).
    env.add(value("CLUSTER_NAME", names.cluster()));
    if (BackupRenderer.enabled(cluster)) {
      env.add(secretRef("PGPASSWORD", superuserSecret, SecretRenderer.PASSWORD));
      env.addAll(BackupRenderer.env(cluster));
    }
    if (tlsEnabled(cluster)) {
      // The agent serves a renewed certificate by a reload, without a restart.
      env.add(value("TLS_DIR", TLS_MOUNT));
      env.add(value("TLS_SERVED_DIR", TLS_SERVED_DIR));
      env.add(value("TLS_SERVER_NAME", names.readWriteService()));  // a renewal that does not name it is not served
    }
    env.add(value("JAVA_TOOL_OPTIONS", "-Xmx48m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
        + " -XX:+ExitOnOutOfMemoryError"));
    return new ContainerBuilder()
        .withName(AGENT_CONTAINER)
        .withImage(image)
        .withArgs("agent")
        .withEnv(env)
        // The agent's PostgreSQL exporter (/metrics), for a PodMonitor (the chart's metrics.podMonitor).
        .addNewPort().withName("metrics").withContainerPort(dev.pgcluster.operator.agent.InstanceMetrics.PORT)
        .withProtocol("TCP").endPort()
        .withNewResources()
        .withRequests(Map.of("cpu", new Quantity("20m"), "memory", new Quantity("96Mi")))
        .withLimits(Map.of("memory", new Quantity("192Mi")))
        .endResources()
        .withVolumeMounts(agentMounts(cluster))
        .withSecurityContext(new io.fabric8.kubernetes.api.model.SecurityContextBuilder(containerSecurity())
            .withReadOnlyRootFilesystem(true).build())
        .build();
  }

  /**
   * Ready = accepting connections (primary or hot standby), checked over the local socket. Every second:
   * readiness is on the bootstrap's critical path twice (the primary before -rw routes to it and the
   * standbys can clone, then the standbys), and pg_isready on a local socket costs next to nothing.
   * Three misses (3 s) take an instance out of its Services.
   */
  static Probe readinessProbe() {
    return new ProbeBuilder()
        .withNewExec().withCommand("pg_isready", "-q", "-h", SOCKET_MOUNT, "-p",
            Integer.toString(PgClusterNames.POSTGRES_PORT)).endExec()
        .withPeriodSeconds(1)
        .withTimeoutSeconds(3)
        .withFailureThreshold(3)
        .build();
  }

  /**
   * Liveness only asks whether the port answers, with a generous threshold: restarting a busy or
   * recovering PostgreSQL makes things worse. Failover decisions are the operator's, not the kubelet's.
   */
  static Probe livenessProbe() {
    return new ProbeBuilder()
        .withNewTcpSocket().withPort(new IntOrString(PgClusterNames.POSTGRES_PORT)).endTcpSocket()
        .withInitialDelaySeconds(10)
        .withPeriodSeconds(10)
        .withTimeoutSeconds(5)
        .withFailureThreshold(6)
        .build();
  }

  static io.fabric8.kubernetes.api.model.SecurityContext containerSecurity() {
    return new io.fabric8.kubernetes.api.model.SecurityContextBuilder()
        .withAllowPrivilegeEscalation(false)
        .withPrivileged(false)
        .withNewCapabilities().withDrop("ALL").endCapabilities()
        .build();
  }

  static List<EnvVar> env(PgCluster cluster) {
    PgClusterSpec spec = cluster.getSpec();
    PgClusterNames names = PgClusterNames.of(cluster);
    String superuserSecret = spec.bootstrap.superuserSecret != null ? spec.bootstrap.superuserSecret : names.superuserSecret();
    String ownerSecret = spec.bootstrap.ownerSecret != null ? spec.bootstrap.ownerSecret : names.appSecret();
    List<EnvVar> env = new ArrayList<>();
    env.add(fieldRef("POD_NAME", "metadata.name"));
    env.add(fieldRef("POD_NAMESPACE", "metadata.namespace"));
    env.add(fieldRef("POD_IP", "status.podIP"));
    env.add(value("CLUSTER_NAME", names.cluster()));
    env.add(value("PGDATA", PGDATA));
    if (cluster.getSpec().walStorage != null) {
      env.add(value("PG_WAL_DIR", WAL_DIR));
    }
    env.add(value("PGPORT", Integer.toString(PgClusterNames.POSTGRES_PORT)));
    env.add(value("CONFIG_DIR", CONFIG_MOUNT));
    env.add(value("TOPOLOGY_DIR", TOPOLOGY_MOUNT));
    env.add(value("SOCKET_DIR", SOCKET_MOUNT));
    env.add(value("PRIMARY_HOST", names.readWriteService()));
    env.add(value("REPLICATION_SLOTS", Boolean.toString(!Boolean.FALSE.equals(spec.replication.slots))));
    env.add(value("PG_REPLICATION_USER", PgClusterNames.REPLICATION_USER));
    env.add(secretRef("PG_SUPERUSER_PASSWORD", superuserSecret, SecretRenderer.PASSWORD));
    env.add(secretRef("PG_REPLICATION_PASSWORD", names.replicationSecret(), SecretRenderer.PASSWORD));
    env.add(value("APP_DATABASE", spec.bootstrap.database));
    env.add(value("APP_OWNER", spec.bootstrap.owner));
    env.add(secretRef("APP_PASSWORD", ownerSecret, SecretRenderer.PASSWORD));
    int delayed = SyncStandbyNames.delayedInstances(spec);
    env.addAll(BackupRenderer.env(cluster));
    if (tlsEnabled(cluster)) {
      // run.sh serves these files; bootstrap.sh verifies the primary with ca.crt (verify-full).
      env.add(value("TLS_DIR", TLS_MOUNT));
      env.add(value("TLS_SERVED_DIR", TLS_SERVED_DIR));
    }
    if (delayed > 0) {
      env.add(value("DELAYED_FROM_ORDINAL", Integer.toString(SyncStandbyNames.promotableInstances(spec))));
      env.add(value("APPLY_DELAY", spec.replication.delayedReplicas.applyDelay));
    }
    return env;
  }

  static List<VolumeMount> mounts(PgCluster cluster) {
    List<VolumeMount> mounts = new ArrayList<>(List.of(
        new VolumeMountBuilder().withName("pgdata").withMountPath(DATA_MOUNT).build(),
        new VolumeMountBuilder().withName("config").withMountPath(CONFIG_MOUNT).withReadOnly(true).build(),
        new VolumeMountBuilder().withName("topology").withMountPath(TOPOLOGY_MOUNT).withReadOnly(true).build(),
        new VolumeMountBuilder().withName("run").withMountPath(SOCKET_MOUNT).build()));
    if (cluster.getSpec().walStorage != null) {
      mounts.add(new VolumeMountBuilder().withName(PgClusterNames.of(cluster).walVolumeClaimTemplate())
          .withMountPath(WAL_MOUNT).build());
    }
    mounts.addAll(BackupRenderer.mounts(cluster));
    if (tlsEnabled(cluster)) {
      mounts.add(new VolumeMountBuilder().withName("tls").withMountPath(TLS_MOUNT).withReadOnly(true).build());
    }
    return mounts;
  }

  static boolean tlsEnabled(PgCluster cluster) {
    return dev.pgcluster.operator.api.v1alpha1.TlsSpec.enabled(cluster.getSpec());
  }

  /** The operator-issued server certificate, or the user's (spec.tls.serverSecret). */
  static String tlsSecret(PgCluster cluster) {
    return cluster.getSpec().tls.serverSecret != null ? cluster.getSpec().tls.serverSecret
        : PgClusterNames.of(cluster).serverSecret();
  }

  /**
   * The agent reads the data directory (a backup copies it) and never writes it; the socket directory
   * holds the local socket, pgBackRest's locks and the certificate PostgreSQL serves, shared with the
   * postgres container.
   */
  static List<VolumeMount> agentMounts(PgCluster cluster) {
    List<VolumeMount> mounts = new ArrayList<>(List.of(
        new VolumeMountBuilder().withName("pgdata").withMountPath(DATA_MOUNT).withReadOnly(true).build()));
    if (cluster.getSpec().walStorage != null) {
      // A backup follows the data directory's pg_wal link.
      mounts.add(new VolumeMountBuilder().withName(PgClusterNames.of(cluster).walVolumeClaimTemplate())
          .withMountPath(WAL_MOUNT).withReadOnly(true).build());
    }
    if (BackupRenderer.enabled(cluster) || tlsEnabled(cluster)) {
      mounts.add(new VolumeMountBuilder().withName("run").withMountPath(SOCKET_MOUNT).build());
    }
    if (BackupRenderer.enabled(cluster)) {
      mounts.addAll(BackupRenderer.mounts(cluster));
    }
    if (tlsEnabled(cluster)) {
      mounts.add(new VolumeMountBuilder().withName("tls").withMountPath(TLS_MOUNT).withReadOnly(true).build());
    }
    return mounts;
  }

  static List<Volume> volumes(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    List<Volume> volumes = new ArrayList<>(List.of(
        new VolumeBuilder().withName("config").withNewConfigMap().withName(names.configMap()).endConfigMap().build(),
        new VolumeBuilder().withName("topology").withNewConfigMap().withName(names.topologyConfigMap()).endConfigMap().build(),
        new VolumeBuilder().withName("run").withNewEmptyDir().endEmptyDir().build()));
    volumes.addAll(BackupRenderer.volumes(cluster));
    if (tlsEnabled(cluster)) {
      // Readable by the postgres group (fsGroup); PostgreSQL serves copies only postgres reads (TLS_SERVED_DIR).
      volumes.add(new VolumeBuilder().withName("tls").withNewSecret().withSecretName(tlsSecret(cluster))
          .withDefaultMode(0440).endSecret().build());
    }
    return volumes;
  }

  static List<PersistentVolumeClaim> claims(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    List<PersistentVolumeClaim> claims = new ArrayList<>();
    claims.add(claim(cluster, names.dataVolumeClaimTemplate(), cluster.getSpec().storage));
    if (cluster.getSpec().walStorage != null) {
      claims.add(claim(cluster, names.walVolumeClaimTemplate(), cluster.getSpec().walStorage));
    }
    return claims;
  }

  private static PersistentVolumeClaim claim(PgCluster cluster, String name, StorageSpec storage) {
    return new PersistentVolumeClaimBuilder()
        .withNewMetadata().withName(name).withLabels(Labels.common(cluster)).endMetadata()
        .withNewSpec()
        .withAccessModes("ReadWriteOnce")
        .withStorageClassName(storage.storageClass)
        .withNewResources().withRequests(Map.of("storage", new Quantity(storage.size))).endResources()
        .endSpec()
        .build();
  }

  private static EnvVar value(String name, String value) {
    return new EnvVarBuilder().withName(name).withValue(value).build();
  }

  private static EnvVar fieldRef(String name, String path) {
    return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withFieldPath(path)
        .endFieldRef().endValueFrom().build();
  }

  private static EnvVar secretRef(String name, String secret, String key) {
    return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef().withName(secret).withKey(key)
        .endSecretKeyRef().endValueFrom().build();
  }
}
