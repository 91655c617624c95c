package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** The cluster's ConfigMaps: configuration plus scripts, and the topology the pods read at start. */
public final class ConfigMapRenderer {
  public static final String BOOTSTRAP_SCRIPT = "bootstrap.sh";
  public static final String RUN_SCRIPT = "run.sh";
  public static final String POSTGRESQL_CONF = "postgresql.conf";
  public static final String PG_HBA_CONF = "pg_hba.conf";
  public static final String TOPOLOGY_PRIMARY = "primary";
  public static final String TOPOLOGY_INITIALIZED = "initialized";
  public static final String TOPOLOGY_EPOCH = "epoch";

  private ConfigMapRenderer() {}

  public static final String SPEC_JSON = "spec.json";

  public static ConfigMap config(PgCluster cluster) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(POSTGRESQL_CONF, PostgresConfig.postgresqlConf(cluster));
    data.put(PG_HBA_CONF, PostgresConfig.pgHbaConf(cluster));
    data.put(BOOTSTRAP_SCRIPT, script(BOOTSTRAP_SCRIPT));
    data.put(RUN_SCRIPT, script(RUN_SCRIPT));
    data.put(BackupRenderer.ARCHIVE_SCRIPT, script(BackupRenderer.ARCHIVE_SCRIPT));
    // The spec all of this was rendered from: while a later spec is invalid, the cluster is kept
    // alive (failover, fencing, rejoin) with this one.
    data.put(SPEC_JSON, io.fabric8.kubernetes.client.utils.Serialization.asJson(cluster.getSpec()));
    return new ConfigMapBuilder()
        .withMetadata(Owned.metadata(cluster, PgClusterNames.of(cluster).configMap()))
        .withData(data)
        .build();
  }

  /** A projection of the primary Lease for the init container: who is primary, was initdb ever done. */
  public static ConfigMap topology(PgCluster cluster, String primary, boolean initialized, int epoch) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(TOPOLOGY_PRIMARY, primary);
    data.put(TOPOLOGY_INITIALIZED, Boolean.toString(initialized));
    data.put(TOPOLOGY_EPOCH, Integer.toString(epoch));
    return new ConfigMapBuilder()
        .withMetadata(Owned.metadata(cluster, PgClusterNames.of(cluster).topologyConfigMap()))
        .withData(data)
        .build();
  }

  /** The scripts ship inside the operator jar, next to this class. */
  public static String script(String name) {
    try (InputStream in = ConfigMapRenderer.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("script " + name + " missing from the operator jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
