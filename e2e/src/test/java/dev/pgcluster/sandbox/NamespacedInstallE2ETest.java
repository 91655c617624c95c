package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The chart's namespaced mode: the operator watches the namespaces it is given and holds Roles there
 * (and one for its leader-election Lease), no ClusterRole. A cluster in a watched namespace comes up
 * with the API server refusing nothing (checked at close); one elsewhere is left alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NamespacedInstallE2ETest {
  static final String CLUSTER = """
      apiVersion: pgcluster.dev/v1alpha1
      kind: PgCluster
      metadata:
        name: solo
      spec:
        instances: 1
        storage:
          size: 1Gi
      """;
  Sandbox sandbox;

  @BeforeAll
  void start() throws Exception {
    sandbox = Sandbox.start();
    sandbox.ensureNamespace("db");
    sandbox.ensureNamespace("elsewhere");
    sandbox.installOperator("rbac.scope=namespaced", "operator.watchNamespaces={db}");
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  void aWatchedNamespacesClusterComesUpUnderRolesAndAnotherIsLeftAlone() throws Exception {
    var rbac = sandbox.client().rbac();
    assertEquals(List.of(), rbac.clusterRoles().withLabel("app.kubernetes.io/name", "pgcluster-operator").list()
        .getItems(), "no ClusterRole in namespaced mode");
    assertEquals(List.of(), rbac.clusterRoleBindings().withLabel("app.kubernetes.io/name", "pgcluster-operator").list()
        .getItems(), "no ClusterRoleBinding in namespaced mode");
    assertTrue(rbac.roles().inNamespace("db").list().getItems().stream()
        .anyMatch(r -> r.getMetadata().getName().equals("pgcluster-operator")), "the operator's Role in db");

    sandbox.apply("db", CLUSTER);
    SandboxCluster watched = new SandboxCluster(sandbox, "db", "solo");
    watched.awaitReadyInstances(1, Duration.ofSeconds(120));
    watched.awaitWritable();

    sandbox.apply("elsewhere", CLUSTER);
    Thread.sleep(10_000);  // five of the operator's status refreshes
    PgCluster ignored = sandbox.client().resources(PgCluster.class).inNamespace("elsewhere").withName("solo").get();
    assertNull(ignored.getStatus(), "a cluster outside the watched namespaces gets no status");
    assertNull(sandbox.client().apps().statefulSets().inNamespace("elsewhere").withName("solo").get(),
        "nor a StatefulSet");
  }
}
