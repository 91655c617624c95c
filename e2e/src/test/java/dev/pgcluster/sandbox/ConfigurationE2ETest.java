package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.RoleSpec;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Pod;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * spec.postgresql.parameters reach running instances: reloadable settings by a reload (no pod
 * restarted), restart-only ones by a rolling restart (standbys, then a switchover) under write load
 * with durability required, and a value PostgreSQL rejects is reported without restarting anything.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConfigurationE2ETest {
  static final Duration READY = Duration.ofSeconds(120);
  static final String NS = "default";
  Sandbox sandbox;
  SandboxCluster conf;

  @BeforeAll
  void startCluster() throws Exception {
    conf = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: conf
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            number: 1
            durability: required
        """, 3, READY);
    sandbox = conf.sandbox;
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void reloadableSettingsAndPgHbaRulesReachEveryInstanceWithoutARestart() throws Exception {
    Map<String, String> podsBefore = podUids();
    try (Connection c = conf.toPod(conf.get().getStatus().currentPrimary); var s = c.createStatement()) {
      s.execute("CREATE ROLE reporting LOGIN PASSWORD 'reporting-pw'");
    }
    String standby = podsBefore.keySet().stream().filter(p -> !p.equals(conf.get().getStatus().currentPrimary))
        .findFirst().orElseThrow();
    Await.until(Duration.ofSeconds(30), "the new role logs in on " + standby, () -> {
      try (Connection c = SandboxCluster.connect(sandbox.podIp(NS, standby), "app", "reporting", "reporting-pw")) {
        return true;
      }
    });
    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().postgresql.parameters.put("work_mem", "8MB");
      c.getSpec().postgresql.pgHba = List.of("host all reporting all reject");
      return c;
    });
    for (String pod : podsBefore.keySet()) {
      Await.until(Duration.ofSeconds(30), "work_mem 8MB on " + pod, () -> {
        try (Connection c = conf.toPod(pod)) {
          return one(c, "SHOW work_mem");
        }
      }, "8MB"::equals);
      Await.until(Duration.ofSeconds(30), "the pg_hba rule in force on " + pod, () -> {
        try (Connection c = SandboxCluster.connect(sandbox.podIp(NS, pod), "app", "reporting", "reporting-pw")) {
          return "still accepted";
        } catch (java.sql.SQLException e) {
          return e.getMessage();
        }
      }, m -> m.contains("pg_hba.conf rejects connection"));
    }
    assertEquals(podsBefore, podUids(), "no pod was restarted");
    Await.until(Duration.ofSeconds(30), "the rollout reported done", () -> condition("Progressing"),
        c -> "Reconciled".equals(c.getReason()));
  }

  @Test
  @Order(2)
  void aValuePostgresRejectsIsReportedAndNothingRestarts() throws Exception {
    Map<String, String> podsBefore = podUids();
    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().postgresql.parameters.put("work_mem", "plenty");
      c.getSpec().postgresql.parameters.put("max_connections", "200");  // would need a restart
      c.getSpec().postgresql.pgHba = List.of("host all reporting all reject", "host all all 10.0.0.0/99 scram-sha-256");
      return c;
    });
    Condition degraded = Await.until(Duration.ofSeconds(30), "Degraded/InvalidConfiguration",
        () -> condition("Degraded"), c -> "InvalidConfiguration".equals(c.getReason())
            && c.getMessage().contains("pg_hba.conf") && c.getMessage().contains("work_mem = 'plenty'"));
    assertTrue(degraded.getMessage().contains("invalid CIDR mask"), degraded.getMessage());
    try (Connection c = conf.toPod(conf.get().getStatus().currentPrimary)) {
      assertEquals("8MB", one(c, "SHOW work_mem"), "the rejected value is not in effect");
    }
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "InvalidConfiguration".equals(e.getReason())), "a Warning event names the problem");
    Thread.sleep(3000);
    assertEquals(podsBefore, podUids(), "no pod was restarted, although max_connections waits for a restart");
    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().postgresql.parameters.put("work_mem", "16MB");
      c.getSpec().postgresql.parameters.remove("max_connections");
      c.getSpec().postgresql.pgHba = List.of("host all reporting all reject");
      return c;
    });
    Await.until(Duration.ofSeconds(30), "no longer degraded", () -> condition("Degraded"),
        c -> "False".equals(c.getStatus()));
    assertEquals(podsBefore, podUids(), "no pod was restarted");
  }

  @Test
  @Order(3)
  void aRestartOnlySettingRollsStandbysThenSwitchesOverWithoutLosingAWrite() throws Exception {
    rollUnderWriteLoad("max_connections 150", c -> c.getSpec().postgresql.parameters.put("max_connections", "150"),
        pod -> {
          try (Connection c = conf.toPod(pod)) {
            return "150".equals(one(c, "SHOW max_connections"));
          }
        });
  }

  @Test
  @Order(4)
  void aNewPodTemplateRollsTheSameWay() throws Exception {
    sandbox.client().resource(new io.fabric8.kubernetes.api.model.scheduling.v1.PriorityClassBuilder()
        .withNewMetadata().withName("databases").endMetadata().withValue(1000).build()).create();
    rollUnderWriteLoad("new pod template (resources, scheduling, pod labels)", c -> {
      c.getSpec().resources = new io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder()
          .addToRequests("cpu", new io.fabric8.kubernetes.api.model.Quantity("100m")).build();
      c.getSpec().scheduling.podAntiAffinity = dev.pgcluster.operator.api.v1alpha1.PodAntiAffinityType.REQUIRED;
      c.getSpec().scheduling.priorityClassName = "databases";
      c.getSpec().podMetadata = new dev.pgcluster.operator.api.v1alpha1.ObjectMetadataSpec();
      c.getSpec().podMetadata.labels = Map.of("team", "payments");
    }, pod -> {
      var sts = sandbox.client().apps().statefulSets().inNamespace(NS).withName("conf").get();
      var p = sandbox.client().pods().inNamespace(NS).withName(pod).get();
      return p != null && sts.getStatus().getUpdateRevision() != null
          && sts.getStatus().getUpdateRevision().equals(p.getMetadata().getLabels().get("controller-revision-hash"))
          && "100m".equals(p.getSpec().getContainers().get(0).getResources().getRequests().get("cpu").toString())
          && "payments".equals(p.getMetadata().getLabels().get("team"))
          && "databases".equals(p.getSpec().getPriorityClassName()) && Integer.valueOf(1000).equals(p.getSpec().getPriority());
    });
    // Required anti-affinity across the sandbox's three worker nodes: one instance on each.
    List<Pod> pods = sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "conf").list().getItems();
    assertEquals(3, pods.stream().map(p -> p.getSpec().getNodeName()).distinct().count(),
        "instances on distinct nodes: " + pods.stream().map(p -> p.getMetadata().getName() + "@" + p.getSpec().getNodeName())
            .toList());
    // A fourth instance has no node left: the status says so, in the scheduler's words.
    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().instances = 4;
      return c;
    });
    Condition ready = Await.until(Duration.ofSeconds(60), "conf-3 reported as unschedulable",
        () -> condition("Ready"), c -> "False".equals(c.getStatus()) && c.getMessage().contains("conf-3 (unschedulable: ")
            && c.getMessage().contains("anti-affinity"));
    System.out.println("Ready: " + ready.getMessage());
    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().instances = 3;
      return c;
    });
    conf.awaitReadyInstances(3, READY);
  }

  /** Whether one instance has taken up a change. */
  interface PodCheck {
    boolean updated(String pod) throws Exception;
  }

  /**
   * spec.roles on the primary: created with a password from a Secret and a membership, a role made by hand
   * taken over, a changed Secret's password in force, a missing Secret reported, a role taken out of the
   * list kept, and one declared absent dropped.
   */
  @Test
  @Order(5)
  void declaredRolesAreKeptAsDeclaredAndNeverDroppedSilently() throws Exception {
    sandbox.client().secrets().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.SecretBuilder()
        .withNewMetadata().withName("alice-pw").endMetadata().addToStringData("password", "first-pw").build()).create();
    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().roles = List.of(role("team", r -> r.login = false), role("alice", r -> {
        r.inRoles = List.of("team", "pg_read_all_data");
        r.passwordSecret = new RoleSpec.PasswordSecret();
        r.passwordSecret.name = "alice-pw";
      }), role("reporting", r -> r.connectionLimit = 3));
      return c;
    });
    Await.until(Duration.ofSeconds(60), "three roles present in status.roles", () -> roleStates(),
        m -> m.equals(Map.of("team", "present", "alice", "present", "reporting", "present")));
    String rw = sandbox.serviceAddress(NS, "conf-rw");
    try (Connection c = SandboxCluster.connect(rw, "app", "alice", "first-pw")) {
      assertEquals("t", one(c, "SELECT pg_has_role('alice', 'team', 'MEMBER')"));
      assertEquals("t", one(c, "SELECT pg_has_role('alice', 'pg_read_all_data', 'MEMBER')"));
    }
    try (Connection c = conf.toPod(conf.get().getStatus().currentPrimary)) {
      assertEquals("f", one(c, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'team'"));
      assertEquals("3", one(c, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'reporting'"));
    }

    sandbox.client().secrets().inNamespace(NS).withName("alice-pw").edit(s -> {
      s.setData(Map.of("password", java.util.Base64.getEncoder().encodeToString("second-pw".getBytes())));
      return s;
    });
    Await.until(Duration.ofSeconds(60), "alice logs in with the Secret's new password", () -> {
      try (Connection c = SandboxCluster.connect(rw, "app", "alice", "second-pw")) {
        return true;
      } catch (java.sql.SQLException e) {
        return false;
      }
    });

    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().roles = List.of(role("team", r -> r.login = false), role("bob", r -> {
        r.passwordSecret = new RoleSpec.PasswordSecret();
        r.passwordSecret.name = "no-such-secret";
      }));
      return c;
    });
    PgCluster seen = Await.until(Duration.ofSeconds(60), "bob failed, alice and reporting kept", conf::get,
        c -> Map.of("team", "present", "bob", "failed", "alice", "kept", "reporting", "kept").equals(roleStates(c)));
    assertTrue(seen.getStatus().roles.stream().anyMatch(r -> r.name.equals("bob")
        && r.message.equals("spec.roles[bob].passwordSecret: Secret no-such-secret not found")), "the field is named");
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "RoleFailed".equals(e.getReason()) && e.getMessage().contains("no-such-secret")),
        "a Warning event names the Secret");
    try (Connection c = SandboxCluster.connect(rw, "app", "alice", "second-pw")) {
      assertEquals("t", one(c, "SELECT true"), "a role taken out of spec.roles is kept");
    }

    sandbox.editCluster(NS, "conf", c -> {
      c.getSpec().roles = List.of(role("team", r -> r.login = false), role("alice", r -> r.ensure = RoleSpec.Ensure.ABSENT));
      return c;
    });
    Await.until(Duration.ofSeconds(60), "alice dropped", () -> roleStates(),
        m -> "absent".equals(m.get("alice")) && !m.containsKey("bob"));
    try (Connection c = conf.toPod(conf.get().getStatus().currentPrimary)) {
      assertEquals("0", one(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'alice'"));
      assertEquals("0", one(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'bob'"),
          "bob, whose password Secret was missing, was never created");
    }
  }

  private static RoleSpec role(String name, java.util.function.Consumer<RoleSpec> settings) {
    RoleSpec role = new RoleSpec();
    role.name = name;
    settings.accept(role);
    return role;
  }

  private Map<String, String> roleStates() {
    return roleStates(conf.get());
  }

  private static Map<String, String> roleStates(PgCluster cluster) {
    Map<String, String> out = new TreeMap<>();
    if (cluster.getStatus() != null && cluster.getStatus().roles != null) {
      cluster.getStatus().roles.forEach(r -> out.put(r.name, r.state));
    }
    return out;
  }

  /**
   * Applies {@code change} while a writer records every acknowledged commit through -rw, and waits
   * until every instance passes {@code check}: each pod restarted, the primary switched over, nothing lost.
   */
  private void rollUnderWriteLoad(String what, java.util.function.Consumer<PgCluster> change, PodCheck check)
      throws Exception {
    Map<String, String> podsBefore = podUids();
    String primaryBefore = conf.get().getStatus().currentPrimary;
    try (Connection rw = conf.viaService("conf-rw"); var s = rw.createStatement()) {
      s.execute("DROP TABLE IF EXISTS chaos");  // a writer numbers its rows from 0
    }
    try (ChaosHarness writer = new ChaosHarness(conf)) {
      writer.start();
      Await.until(Duration.ofSeconds(10), "writes acknowledged", () -> writer.acknowledged.size() > 50);
      writer.resetGap();
      long start = System.nanoTime();
      sandbox.editCluster(NS, "conf", c -> {
        change.accept(c);
        return c;
      });
      for (String pod : podsBefore.keySet()) {
        Await.until(Duration.ofSeconds(180), what + " on " + pod, () -> check.updated(pod));
      }
      // The status may still describe the cluster before the last restart: wait for the switched-over primary.
      PgCluster done = Await.until(READY, "3 ready instances with the primary switched over from " + primaryBefore,
          conf::get, c -> c.getStatus() != null && Integer.valueOf(3).equals(c.getStatus().readyInstances)
              && c.getStatus().phase == dev.pgcluster.operator.api.v1alpha1.ClusterPhase.Healthy
              && !primaryBefore.equals(c.getStatus().currentPrimary));
      double seconds = (System.nanoTime() - start) / 1e9;
      Await.until(Duration.ofSeconds(30), "the rollout reported done", () -> condition("Progressing"),
          c -> "Reconciled".equals(c.getReason()));
      int acknowledged = writer.acknowledged.size();
      assertEquals(List.of(), writer.lostWrites(), "acknowledged commits lost during the rolling restart");
      assertEquals(0, writer.splitBrainMoments.get(), "two writable primaries seen");
      Map<String, String> podsAfter = podUids();
      for (String pod : podsBefore.keySet()) {
        assertNotEquals(podsBefore.get(pod), podsAfter.get(pod), pod + " was restarted");
      }
      assertNotEquals(primaryBefore, done.getStatus().currentPrimary, "the primary was switched over, not restarted");
      System.out.printf("rolling restart for %s: %.1f s for 3 instances, %d writes acknowledged, 0 lost,"
          + " longest write gap %.2f s%n", what, seconds, acknowledged, writer.longestGapNanos.get() / 1e9);
    }
  }

  private Condition condition(String type) {
    PgCluster c = conf.get();
    return c.getStatus() == null || c.getStatus().conditions == null ? null : c.getStatus().conditions.stream()
        .filter(x -> type.equals(x.getType()) && c.getMetadata().getGeneration().equals(x.getObservedGeneration()))
        .findFirst().orElse(null);
  }

  private Map<String, String> podUids() {
    Map<String, String> uids = new TreeMap<>();
    for (Pod p : sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "conf").list().getItems()) {
      uids.put(p.getMetadata().getName(), p.getMetadata().getUid());
    }
    return uids;
  }
}
