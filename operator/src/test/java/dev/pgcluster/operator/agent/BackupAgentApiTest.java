package dev.pgcluster.operator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgBackupSpec;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The agent's backup duties against the API (mock server), with pgBackRest faked at the process port. */
@EnableKubernetesMockClient(crud = true)
class BackupAgentApiTest {
  KubernetesClient client;
  final List<String> ran = new ArrayList<>();
  final AtomicReference<GrantPolicy.Local> local = new AtomicReference<>(
      new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, false, false));
  int backupExit;
  BackupAgent agent;

  @BeforeEach
  void setUp() {
    agent = new BackupAgent(client, this::run, local::get, "db", "pg", "pg", "pg-0");
  }

  BackupAgent.Result run(List<String> command, Duration timeout) {
    ran.add(String.join(" ", command.subList(1, command.size())));
    return switch (command.get(1)) {
      case "backup" -> backupExit == 0
          ? new BackupAgent.Result(0, "P00   INFO: new backup label = 20261201-100000F\n")
          : new BackupAgent.Result(82, "ERROR: [082]: WAL segment 000000010000000000000009 was not archived\n");
      case "info" -> new BackupAgent.Result(0, BackupInfoTest.INFO);
      default -> new BackupAgent.Result(0, "");
    };
  }

  PgBackup request(String name, String cluster, String phase, String instance) {
    PgBackup b = new PgBackup();
    b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("db").build());
    b.setSpec(new PgBackupSpec());
    b.getSpec().cluster = cluster;
    b = client.resources(PgBackup.class).inNamespace("db").resource(b).create();
    if (phase != null) {
      b.setStatus(new PgBackupStatus());
      b.getStatus().phase = phase;
      b.getStatus().instance = instance;
      b = client.resources(PgBackup.class).inNamespace("db").resource(b).updateStatus();
    }
    return b;
  }

  PgBackupStatus status(String name) {
    return client.resources(PgBackup.class).inNamespace("db").withName(name).get().getStatus();
  }

  @Test
  void thePrimaryCreatesTheStanzaOnceAndTakesTheBackupAssignedToIt() {
    request("mine", "pg", PgBackupStatus.PENDING, "pg-0");
    request("elsewhere", "pg", PgBackupStatus.PENDING, "pg-1");
    request("other-cluster", "other", PgBackupStatus.PENDING, "pg-0");
    request("unassigned", "pg", null, null);
    agent.round();
    agent.round();
    assertEquals(List.of("stanza-create", "backup --type=full --archive-timeout=120 --log-level-console=info",
        "info --output=json"), ran);
    PgBackupStatus done = status("mine");
    assertEquals(PgBackupStatus.COMPLETED, done.phase);
    assertEquals("20261201-100000F", done.label);
    assertEquals("0/9000138", done.stopLsn);
    assertEquals("2026-12-01T09:37:04Z", done.firstRecoverabilityPoint);
    assertEquals("pg-0", done.instance);
    assertEquals(PgBackupStatus.PENDING, status("elsewhere").phase);
    assertEquals(PgBackupStatus.PENDING, status("other-cluster").phase);
    assertEquals(null, status("unassigned"));
  }

  @Test
  void aFailedBackupRecordsPgBackRestsError() {
    backupExit = 82;
    request("mine", "pg", PgBackupStatus.PENDING, "pg-0");
    agent.round();
    PgBackupStatus failed = status("mine");
    assertEquals(PgBackupStatus.FAILED, failed.phase);
    assertTrue(failed.message.contains("exited with 82") && failed.message.contains("was not archived"),
        failed.message);
  }

  @Test
  void aStandbyOrAFencedPrimaryDoesNothing() {
    request("mine", "pg", PgBackupStatus.PENDING, "pg-0");
    local.set(new GrantPolicy.Local(GrantPolicy.Role.STANDBY, false, true));
    agent.round();
    local.set(new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, true, true));
    agent.round();
    assertEquals(List.of(), ran);
    assertEquals(PgBackupStatus.PENDING, status("mine").phase);
  }
}
