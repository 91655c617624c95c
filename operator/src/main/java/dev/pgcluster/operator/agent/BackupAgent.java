package dev.pgcluster.operator.agent;

import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's backup duties, with pgBackRest next to its PostgreSQL: while the instance is an unfenced
 * primary it makes sure the stanza exists (so that archiving works), and it takes the base backups
 * the operator assigned to this pod (a PgBackup whose status names it, phase Pending), recording the
 * outcome in the PgBackup's status.
 */
final class BackupAgent {
  private static final Logger LOG = LoggerFactory.getLogger(BackupAgent.class);
  static final Duration STANZA_RETRY = Duration.ofSeconds(30);
  static final Duration STANZA_TIMEOUT = Duration.ofMinutes(2);
  static final Duration BACKUP_TIMEOUT = Duration.ofHours(12);
  /** pgBackRest's exit code when another of its processes holds the lock (LockAcquireError). */
  static final int LOCK_HELD = 50;

  /** Runs a command in this container; a port, so that tests need no pgBackRest. */
  interface Commands {
    Result run(List<String> command, Duration timeout);
  }

  record Result(int exit, String output) {
    boolean ok() {
      return exit == 0;
    }
  }

  private final KubernetesClient client;
  private final Commands commands;
  private final Supplier<GrantPolicy.Local> local;
  private final String namespace;
  private final String cluster;
  private final String stanza;
  private final String me;
  private boolean stanzaReady;
  private long nextStanzaAttempt;

  BackupAgent(KubernetesClient client, Commands commands, Supplier<GrantPolicy.Local> local, String namespace,
      String cluster, String stanza, String me) {
    this.client = client;
    this.commands = commands;
    this.local = local;
    this.namespace = namespace;
    this.cluster = cluster;
    this.stanza = stanza;
    this.me = me;
  }

  /** One round: the stanza, then any backup assigned to this pod. */
  void round() {
    GrantPolicy.Local now = local.get();
    boolean primary = now != null && now.role() == GrantPolicy.Role.PRIMARY && !now.fenced();
    if (!primary) {
      stanzaReady = false;  // a later primary term checks again (the store may have changed meanwhile)
      return;
    }
    ensureStanza();
    List<PgBackup> assigned;
    try {
      assigned = client.resources(PgBackup.class).inNamespace(namespace).list().getItems().stream()
          .filter(b -> b.getSpec() != null && cluster.equals(b.getSpec().cluster) && b.getStatus() != null
              && PgBackupStatus.PENDING.equals(b.getStatus().phase) && me.equals(b.getStatus().instance))
          .toList();
    } catch (KubernetesClientException e) {
      LOG.debug("cannot list PgBackups: {}", e.getMessage());
      return;
    }
    for (PgBackup backup : assigned) {
      take(backup);
    }
  }

  /** stanza-create is idempotent: it checks the store against this database and creates what is missing. */
  private void ensureStanza() {
    if (stanzaReady || System.nanoTime() < nextStanzaAttempt) {
      return;
    }
    Result r = commands.run(List.of("pgbackrest", "stanza-create"), STANZA_TIMEOUT);
    if (r.ok()) {
      stanzaReady = true;
      LOG.info("pgBackRest stanza {} is ready on the store: WAL archiving can proceed", stanza);
    } else if (r.exit() == LOCK_HELD) {
      // archive-push holds the stanza's lock while it pushes: the store is in use, try again shortly.
      nextStanzaAttempt = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      LOG.debug("stanza-create waits for archive-push's lock");
    } else {
      nextStanzaAttempt = System.nanoTime() + STANZA_RETRY.toNanos();
      LOG.warn("pgBackRest stanza-create for {} failed (exit {}); WAL cannot be archived until it succeeds,"
          + " retrying in {} s: {}", stanza, r.exit(), STANZA_RETRY.toSeconds(), errors(r.output()));
    }
  }

  void take(PgBackup backup) {
    String name = backup.getMetadata().getName();
    backup.getStatus().phase = PgBackupStatus.RUNNING;
    backup.getStatus().message = "pgBackRest backup running on " + me;
    try {
      // The read resourceVersion makes this a compare-and-set: one taker only.
      backup = client.resources(PgBackup.class).inNamespace(namespace).resource(backup).updateStatus();
    } catch (KubernetesClientException e) {
      LOG.info("backup {} not taken: {}", name, e.getCode() == 409 ? "it changed meanwhile" : e.getMessage());
      return;
    }
    LOG.info("backup {} started: full backup of {} to the store", name, stanza);
    long start = System.nanoTime();
    PgBackupStatus result = new PgBackupStatus();
    result.instance = me;
    Result run = commands.run(List.of("pgbackrest", "backup", "--type=full", "--archive-timeout=120",
        "--log-level-console=info"), BACKUP_TIMEOUT);
    String label = BackupInfo.newLabel(run.output()).orElse(null);
    if (!run.ok() || label == null) {
      result.phase = PgBackupStatus.FAILED;
      result.message = "pgbackrest backup exited with " + run.exit() + ": " + errors(run.output());
    } else {
      Result info = commands.run(List.of("pgbackrest", "info", "--output=json"), STANZA_TIMEOUT);
      if (info.ok() && BackupInfo.describe(info.output(), stanza, label, result)) {
        result.phase = PgBackupStatus.COMPLETED;
        result.message = "backup " + label + " completed in " + Duration.ofNanos(System.nanoTime() - start).toSeconds()
            + " s";
      } else {
        result.phase = PgBackupStatus.FAILED;
        result.label = label;
        result.message = "backup " + label + " was written but pgbackrest info does not list it: " + errors(info.output());
      }
    }
    record(backup, result);
    if (PgBackupStatus.COMPLETED.equals(result.phase)) {
      LOG.info("backup {} completed: {} ({} bytes, {} in the store)", name, label, result.databaseBytes,
          result.repositoryBytes);
    } else {
      LOG.warn("backup {} failed: {}", name, result.message);
    }
  }

  /** The outcome, written even if the object changed meanwhile (only this agent writes a Running backup). */
  private void record(PgBackup taken, PgBackupStatus result) {
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        PgBackup current = client.resources(PgBackup.class).inNamespace(namespace)
            .withName(taken.getMetadata().getName()).get();
        if (current == null) {
          return;
        }
        current.setStatus(result);
        client.resources(PgBackup.class).inNamespace(namespace).resource(current).updateStatus();
        return;
      } catch (KubernetesClientException e) {
        LOG.info("could not record the outcome of backup {} yet: {}", taken.getMetadata().getName(), e.getMessage());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** pgBackRest's ERROR/WARN lines (with their HINTs), else the output's end; at most 1000 characters. */
  static String errors(String output) {
    StringBuilder kept = new StringBuilder();
    boolean inError = false;
    for (String line : output.split("\n")) {
      if (line.contains("ERROR:") || line.contains("WARN:")) {
        inError = true;
      } else if (!line.startsWith(" ") && !line.startsWith("\t")) {
        inError = false;
      }
      if (inError) {
        kept.append(line.strip()).append(' ');
      }
    }
    String text = kept.length() > 0 ? kept.toString().strip() : output.strip();
    return text.length() > 1000 ? text.substring(text.length() - 1000) : text;
  }

  /** Runs commands with this process's environment (the pod's PGBACKREST_* variables). */
  static final class Processes implements Commands {
    @Override
    public Result run(List<String> command, Duration timeout) {
      try {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
          try {
            p.getInputStream().transferTo(out);
          } catch (java.io.IOException ignored) {
            // the process ended
          }
        }, "pgbackrest-output");
        reader.start();
        if (!p.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
          reader.join(1000);
          return new Result(-1, out + "\n(killed after " + timeout.toSeconds() + " s)");
        }
        reader.join(5000);
        return new Result(p.exitValue(), out.toString(java.nio.charset.StandardCharsets.UTF_8));
      } catch (java.io.IOException e) {
        return new Result(-1, "cannot run " + command.get(0) + ": " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Result(-1, "interrupted");
      }
    }
  }
}
