package dev.pgcluster.operator.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.PgClusterOperator;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.config.OperatorConfig;
import dev.pgcluster.operator.render.TestClusters;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart's ClusterRole grants exactly what the operator uses: every request the operator makes
 * against the mock API server (create, pods to label, scale, status, delete) must be allowed, and
 * every granted verb must have been used, or be listed below with where it is exercised.
 */
class RbacApiTest {
  /** The chart's rules, rendered into its ClusterRole or into a Role per watched namespace. */
  static final Path RULES = Path.of("../helm/pgcluster-operator/files/rbac-rules.yaml");
  /** Granted verbs the mock API cannot exercise, and the tests that do. */
  static final Map<String, String> EXERCISED_ELSEWHERE = Map.ofEntries(
      Map.entry("pgcluster.dev/pgbackups/get", "held so that the operator may grant it to the agents' Role (the API"
          + " server refuses a Role granting more than its creator holds); the agents use it: BackupRecoveryE2ETest"),
      Map.entry("pgcluster.dev/pgbackups/create", "spec.backup.schedule, on an initialized cluster with a store:"
          + " BackupRecoveryE2ETest"),
      Map.entry("/pods/delete", "fencing a failed primary, restarting a diverged standby: FailoverE2ETest, ChaosE2ETest"),
      Map.entry("coordination.k8s.io/leases/update", "renewing the primary Lease and moving it on failover (needs a"
          + " running primary): ClusterLifecycleE2ETest, FailoverE2ETest"),
      Map.entry("pgcluster.dev/pgclusters/get", "a read JOSDK may make of the primary resource (retries); harmless"),
      Map.entry("pgcluster.dev/pgclusters/finalizers/update", "not a request: OwnerReferencesPermissionEnforcement"
          + " checks it when a dependent with blockOwnerDeletion is created (every E2E test on the real API server)"),
      Map.entry("apps/deployments/patch", "recording a pooler hold while the primary moves (needs running PgBouncer"
          + " pods): PoolerE2ETest"),
      Map.entry("/persistentvolumeclaims/patch", "growing the data claims to a larger storage.size (needs bound"
          + " claims): ClusterLifecycleE2ETest"),
      Map.entry("/persistentvolumeclaims/get", "the client's read of a claim before it patches it:"
          + " ClusterLifecycleE2ETest"),
      Map.entry("/events/get", "the client's read of an Event before it counts a repeat up: EventRecorderApiTest,"
          + " and every E2E test where an event repeats"),
      Map.entry("/events/patch", "counting a repeated event up on the Event recorded: EventRecorderApiTest, and every"
          + " E2E test where an event repeats"),
      Map.entry("discovery.k8s.io/endpointslices/list", "whether -rw routes to the new primary before a pooler hold"
          + " ends: PoolerE2ETest"));
  private static final Pattern PATH = Pattern.compile(
      "/(?:api/v1|apis/([^/]+)/[^/]+)(?:/namespaces/[^/]+)?/([a-z]+)(?:/([^/?]+))?(?:/([a-z]+))?(?:\\?(.*))?");

  @Test
  void theClusterRoleGrantsExactlyTheVerbsTheOperatorUses() throws Exception {
    Set<String> granted = granted();
    Set<String> used;
    try (MockApi api = new MockApi(); KubernetesClient client = api.newClient()) {
      PgClusterOperator operator = PgClusterOperator.start(api.newOperatorClient(),
          OperatorConfig.fromEnv(Map.of("PGC_HTTP_PORT", "0", "POD_NAME", "op", "PGC_LEASE_NAMESPACE", "db")), false);
      try {
        PgCluster first = TestClusters.cluster("pg", 2);
        first.getSpec().tls = new dev.pgcluster.operator.api.v1alpha1.TlsSpec();  // its Secrets: created, patched
        first.getSpec().tls.enabled = true;
        first.getSpec().pooler = new dev.pgcluster.operator.api.v1alpha1.PoolerSpec();  // its objects: created
        client.resource(first).inNamespace("db").create();
        await(() -> client.apps().statefulSets().inNamespace("db").withName("pg").get() != null);
        for (int i = 0; i < 2; i++) {
          client.pods().inNamespace("db").resource(new PodBuilder().withNewMetadata().withName("pg-" + i)
              .withLabels(Map.of("pgcluster.dev/cluster", "pg", "app.kubernetes.io/managed-by", "pgcluster-operator"))
              .endMetadata().withNewSpec().addNewContainer().withName("postgres").withImage("postgres").endContainer()
              .endSpec().build()).create();
        }
        await(() -> "primary".equals(client.pods().inNamespace("db").withName("pg-0").get().getMetadata().getLabels()
            .get("pgcluster.dev/role")));
        // Someone edits a Service and the PDB behind the operator's back: it puts its version back.
        client.services().inNamespace("db").withName("pg-rw").edit(svc -> {
          svc.getMetadata().getAnnotations().remove("pgcluster.dev/rendered-hash");
          return svc;
        });
        client.policy().v1().podDisruptionBudget().inNamespace("db").withName("pg").edit(pdb -> {
          pdb.getMetadata().getAnnotations().remove("pgcluster.dev/rendered-hash");
          return pdb;
        });
        // An older operator's Role for the agents (before backups): the operator brings its rules up to date.
        client.rbac().roles().inNamespace("db").withName("pg-instance").edit(role -> {
          role.getMetadata().getAnnotations().remove("pgcluster.dev/rendered-hash");
          role.setRules(role.getRules().subList(0, 1));
          return role;
        });
        // A backup of a cluster without spec.backup: the operator fails it, saying why.
        dev.pgcluster.operator.api.v1alpha1.PgBackup backup = new dev.pgcluster.operator.api.v1alpha1.PgBackup();
        backup.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("b1").withNamespace("db").build());
        backup.setSpec(new dev.pgcluster.operator.api.v1alpha1.PgBackupSpec());
        backup.getSpec().cluster = "pg";
        client.resource(backup).create();
        await(() -> {
          var b = client.resources(dev.pgcluster.operator.api.v1alpha1.PgBackup.class).inNamespace("db").withName("b1").get();
          return b.getStatus() != null && "Failed".equals(b.getStatus().phase)
              && b.getStatus().message.equals("PgCluster pg has no spec.backup: there is no store to back up to");
        });
        MockApi.editCluster(client, "db", "pg", c -> {
          c.getSpec().instances = 5;
          c.getSpec().postgresql.parameters.put("work_mem", "8MB");  // the config ConfigMap changes too
          c.getSpec().pooler.instances = 3;  // the pooler's Deployment is updated
          c.getSpec().serviceAccountMetadata = new dev.pgcluster.operator.api.v1alpha1.ObjectMetadataSpec();
          c.getSpec().serviceAccountMetadata.annotations = Map.of("azure.workload.identity/client-id", "0000-1111");
          return c;
        });
        await(() -> {
          var account = client.serviceAccounts().inNamespace("db").withName("pg-instance").get();
          return account.getMetadata().getAnnotations() != null
              && "0000-1111".equals(account.getMetadata().getAnnotations().get("azure.workload.identity/client-id"));
        });
        await(() -> client.apps().statefulSets().inNamespace("db").withName("pg").get().getSpec().getReplicas() == 5);
        await(() -> api.operatorRequests().stream().anyMatch(r -> r.startsWith("PUT") && r.contains("/services/")));
        await(() -> api.operatorRequests().stream().anyMatch(r -> r.startsWith("PUT")
            && r.contains("/poddisruptionbudgets/")));
        await(() -> client.rbac().roles().inNamespace("db").withName("pg-instance").get().getRules().size() == 3);
        await(() -> api.operatorRequests().stream().anyMatch(r -> r.startsWith("PUT") && r.contains("/pgclusters/") && r.contains("/status")));
        await(() -> client.apps().deployments().inNamespace("db").withName("pg-pooler").get().getSpec().getReplicas() == 3);
        // spec.pooler taken out: its Deployment, Service and ConfigMap go.
        MockApi.editCluster(client, "db", "pg", c -> {
          c.getSpec().pooler = null;
          return c;
        });
        await(() -> client.apps().deployments().inNamespace("db").withName("pg-pooler").get() == null
            && client.services().inNamespace("db").withName("pg-pooler-rw").get() == null
            && client.configMaps().inNamespace("db").withName("pg-pooler").get() == null);
      } finally {
        operator.close();
      }
      used = api.operatorRequests().stream().map(RbacApiTest::permission).collect(Collectors.toCollection(TreeSet::new));
    }
    Set<String> notGranted = new TreeSet<>(used);
    notGranted.removeAll(granted);
    assertEquals(Set.of(), notGranted, "the operator uses these but the ClusterRole does not grant them");
    Set<String> unused = new TreeSet<>(granted);
    unused.removeAll(used);
    unused.removeAll(EXERCISED_ELSEWHERE.keySet());
    assertEquals(Set.of(), unused, "the ClusterRole grants these but the operator never used them");
  }

  /** "group/resource[/subresource]/verb" for each granted combination. */
  static Set<String> granted() throws Exception {
    String rules = Files.readString(RULES).lines().map(l -> "  " + l).collect(Collectors.joining("\n"));
    ClusterRole role = Serialization.unmarshal("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nrules:\n"
        + rules, ClusterRole.class);
    Set<String> out = new TreeSet<>();
    for (PolicyRule rule : role.getRules()) {
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            out.add(group + "/" + resource + "/" + verb);
          }
        }
      }
    }
    assertTrue(out.size() > 10, "parsed the ClusterRole: " + out);
    return out;
  }

  /** "GET /apis/apps/v1/namespaces/db/statefulsets?watch=true" -> "apps/statefulsets/watch". */
  static String permission(String request) {
    String method = request.substring(0, request.indexOf(' '));
    Matcher m = PATH.matcher(request.substring(request.indexOf(' ') + 1));
    if (!m.matches()) {
      throw new IllegalArgumentException("unexpected request " + request);
    }
    String group = m.group(1) == null ? "" : m.group(1);
    String resource = m.group(2) + (m.group(4) == null ? "" : "/" + m.group(4));
    boolean named = m.group(3) != null;
    String query = m.group(5) == null ? "" : m.group(5);
    String verb = switch (method) {
      case "GET" -> !named ? (query.contains("watch=true") ? "watch" : "list") : "get";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> "delete";
      default -> method;
    };
    return group + "/" + resource + "/" + verb;
  }

  private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        // Not there yet.
      }
      Thread.sleep(100);
    }
    throw new AssertionError("timed out");
  }
}
