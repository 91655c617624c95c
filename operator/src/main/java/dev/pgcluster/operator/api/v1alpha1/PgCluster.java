package dev.pgcluster.operator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** A highly available PostgreSQL cluster: one primary and streaming standbys. */
@Group(PgCluster.GROUP)
@Version(PgCluster.VERSION)
@Kind("PgCluster")
@Plural("pgclusters")
@Singular("pgcluster")
@ShortNames("pgc")
@Categories("postgres")
@AdditionalPrinterColumn(name = "Instances", jsonPath = ".spec.instances", type = AdditionalPrinterColumn.Type.INTEGER,
    getDescription = "Instances asked for: one primary and the standbys")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.readyInstances", type = AdditionalPrinterColumn.Type.INTEGER,
    getDescription = "Instances running PostgreSQL in their role and ready")
@AdditionalPrinterColumn(name = "Primary", jsonPath = ".status.currentPrimary", type = AdditionalPrinterColumn.Type.STRING,
    getDescription = "The pod the primary Lease names")
@AdditionalPrinterColumn(name = "Mode", jsonPath = ".spec.replication.mode", type = AdditionalPrinterColumn.Type.STRING,
    getDescription = "Replication mode: async or sync")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING,
    getDescription = "Initializing, Healthy, Degraded, Unavailable or Invalid")
@AdditionalPrinterColumn(name = "Epoch", jsonPath = ".status.primaryEpoch", type = AdditionalPrinterColumn.Type.INTEGER,
    priority = 1, getDescription = "Primary changes since the cluster was created")
@AdditionalPrinterColumn(name = "Sync", jsonPath = ".status.synchronousStandbyNames",
    type = AdditionalPrinterColumn.Type.STRING, priority = 1,
    getDescription = "synchronous_standby_names in force on the primary")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class PgCluster extends CustomResource<PgClusterSpec, PgClusterStatus> implements Namespaced {
  public static final String GROUP = "pgcluster.dev";
  public static final String VERSION = "v1alpha1";
}
