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

/**
 * One base backup of a cluster, requested by creating this resource (GitOps-style) or by the
 * cluster's schedule. Deleting it deletes nothing on the store: retention does that.
 */
@Group(PgCluster.GROUP)
@Version(PgCluster.VERSION)
@Kind("PgBackup")
@Plural("pgbackups")
@Singular("pgbackup")
@ShortNames("pgb")
@Categories("postgres")
@AdditionalPrinterColumn(name = "Cluster", jsonPath = ".spec.cluster", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Label", jsonPath = ".status.label", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Instance", jsonPath = ".status.instance", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class PgBackup extends CustomResource<PgBackupSpec, PgBackupStatus> implements Namespaced {
}
