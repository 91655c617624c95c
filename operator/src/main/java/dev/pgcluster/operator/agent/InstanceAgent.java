package dev.pgcluster.operator.agent;

import dev.pgcluster.operator.ha.GrantTimes;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.lease.PrimaryLease;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent beside each PostgreSQL ({@code pgcluster-operator agent}, a sidecar of every instance pod).
 * While its instance is the primary it renews the primary Lease, which is its grant to take writes;
 * when it cannot renew within the grant's bound, or the Lease names another pod, it fences its
 * PostgreSQL (see {@link GrantPolicy}). It decides nothing else: roles stay the operator's.
 */
public final class InstanceAgent {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceAgent.class);

  private final PrimaryLease leases;
  private final LocalPostgres postgres;
  private final String namespace;
  private final String leaseName;
  private final String me;
  private final long startedAt = System.nanoTime();
  private volatile Long lastRenewalStart;  // System.nanoTime() at the start of the last successful renewal
  private volatile GrantPolicy.Local lastLocal;
  private volatile Duration lastDuration = Duration.ofSeconds(PrimaryRecord.DEFAULT_LEASE_DURATION_SECONDS);
  private String lastProblem;

  private volatile boolean firstRoundDone;
  private Lease held;  // the primary Lease as this agent's last read or renewal returned it (round thread only)

  InstanceAgent(PrimaryLease leases, LocalPostgres postgres, String namespace, String leaseName, String me) {
    this.leases = leases;
    this.postgres = postgres;
    this.namespace = namespace;
    this.leaseName = leaseName;
    this.me = me;
  }

  public static void main(String[] args) {
    Map<String, String> env = System.getenv();
    // Short timeouts and no client-side retries: a request that does not get through in time is a
    // failed renewal, and the bound on the grant is what matters.
    Config config = new ConfigBuilder(Config.autoConfigure(null))
        .withConnectionTimeout(1000).withRequestTimeout(2000).withRequestRetryBackoffLimit(0).build();
    // (A round may take these timeouts; the guard thread keeps the bound meanwhile.)
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    InstanceAgent agent = new InstanceAgent(new PrimaryLease(client, Clock.systemUTC()),
        new LocalPostgres(require(env, "POD_IP"), Integer.parseInt(env.getOrDefault("PGPORT", "5432")),
            require(env, "PG_SUPERUSER_PASSWORD"), Path.of(require(env, "PGDATA"))),
        require(env, "POD_NAMESPACE"), require(env, "PRIMARY_LEASE"), require(env, "POD_NAME"));
    org.slf4j.MDC.put("resource.namespace", agent.namespace);
    org.slf4j.MDC.put("resource.name", agent.me);
    LOG.info("agent for {} started: renews the primary Lease {} while this instance is the primary", agent.me,
        agent.leaseName);
    java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "grant-guard");
      t.setDaemon(true);
      return t;
    }).scheduleWithFixedDelay(() -> {
      org.slf4j.MDC.put("resource.namespace", agent.namespace);
      org.slf4j.MDC.put("resource.name", agent.me);
      agent.guard();
    }, 100, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
    // The exporter: its failure to listen is logged, never a reason for the agent not to guard the grant.
    InstanceMetrics exporter = new InstanceMetrics(agent.postgres::newSession);
    try {
      exporter.serve(require(env, "POD_IP"), InstanceMetrics.PORT);
    } catch (java.io.IOException e) {
      LOG.warn("PostgreSQL metrics not served on {}:{}: {}", env.get("POD_IP"), InstanceMetrics.PORT, e.toString());
    }
    String tlsDirectory = env.get("TLS_DIR");
    String tlsServed = env.get("TLS_SERVED_DIR");
    if (tlsDirectory != null && !tlsDirectory.isBlank() && tlsServed != null && !tlsServed.isBlank()) {
      String[] tlsFailure = {null};
      List<String> names = env.get("TLS_SERVER_NAME") == null ? List.of() : List.of(env.get("TLS_SERVER_NAME"));
      ServedCertificate served = new ServedCertificate(Path.of(tlsDirectory), Path.of(tlsServed),
          agent.postgres::reloadConfiguration, Clock.systemUTC(), names);
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tls");
        t.setDaemon(true);
        return t;
      }).scheduleWithFixedDelay(() -> {
        org.slf4j.MDC.put("resource.namespace", agent.namespace);
        org.slf4j.MDC.put("resource.name", agent.me);
        try {
          served.check();
          tlsFailure[0] = null;
        } catch (java.io.IOException | RuntimeException e) {
          if (!e.toString().equals(tlsFailure[0])) {  // said once, not every 2 s
            LOG.warn("cannot compare the served certificate with the TLS Secret: {}", e.toString());
            tlsFailure[0] = e.toString();
          }
        }
      }, 2, 2, java.util.concurrent.TimeUnit.SECONDS);
    }
    String stanza = env.get("PGBACKREST_STANZA");
    if (stanza != null && !stanza.isBlank()) {
      BackupAgent backups = new BackupAgent(client, new BackupAgent.Processes(), () -> agent.lastLocal,
          agent.namespace, require(env, "CLUSTER_NAME"), stanza, agent.me);
      LOG.info("backups configured: this agent keeps stanza {} ready while its instance is the primary and takes"
          + " the base backups assigned to it", stanza);
      Thread t = new Thread(() -> {
        org.slf4j.MDC.put("resource.namespace", agent.namespace);
        org.slf4j.MDC.put("resource.name", agent.me);
        while (!Thread.currentThread().isInterrupted()) {
          try {
            backups.round();
          } catch (RuntimeException e) {
            LOG.warn("backup round failed: {}", e.getMessage());
          }
          try {
            Thread.sleep(2000);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "backups");
      t.setDaemon(true);
      t.start();
    }
    agent.run();
  }

  void run() {
    Duration period = GrantTimes.renewPeriod(Duration.ofSeconds(PrimaryRecord.DEFAULT_LEASE_DURATION_SECONDS));
    while (!Thread.currentThread().isInterrupted()) {
      long start = System.nanoTime();
      period = round(start);
      long sleep = period.toNanos() - (System.nanoTime() - start);
      if (sleep > 0) {
        try {
          Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /**
   * One round: look at PostgreSQL, renew the Lease if it is ours (else read it), fence or unfence. While
   * it holds the Lease, a round is one request: the renewal from the copy the last one returned.
   */
  Duration round(long start) {
    // PostgreSQL first: the guard needs to know whether it is a primary even while the API hangs.
    GrantPolicy.Local local = postgres.probe();
    lastLocal = local;
    boolean primary = local.role() == GrantPolicy.Role.PRIMARY;
    Optional<PrimaryRecord> lease = Optional.empty();
    if (primary && heldByMe()) {
      lease = renew(start, held);
    }
    if (lease.isEmpty()) {
      Optional<PrimaryRecord> read = Optional.empty();
      try {
        held = leases.readLease(namespace, leaseName).orElse(null);
        read = Optional.ofNullable(held).map(PrimaryLease::toRecord);
      } catch (RuntimeException e) {
        problem("cannot read the primary Lease: " + describe(e));
        held = null;
      }
      lease = read;
      if (primary && heldByMe()) {
        Optional<PrimaryRecord> renewed = renew(start, held);
        lease = renewed.isPresent() ? renewed : read;
      }
    }
    Duration duration = lease.map(PrimaryRecord::leaseDuration)
        .orElse(Duration.ofSeconds(PrimaryRecord.DEFAULT_LEASE_DURATION_SECONDS));
    lastDuration = duration;
    Optional<Duration> since = lastRenewalStart == null ? Optional.empty()
        : Optional.of(Duration.ofNanos(System.nanoTime() - lastRenewalStart));
    GrantPolicy.Step step = GrantPolicy.decide(lease.map(PrimaryRecord::holder), me, local, since, duration);
    if (step instanceof GrantPolicy.Fence fence) {
      fence(fence.reason());
    } else if (step instanceof GrantPolicy.Unfence) {
      try {
        String marker = postgres.unfence();
        lastLocal = new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, false, false);
        if (marker.contains("|" + GrantPolicy.STARTING)) {
          // Every primary starts fenced (run.sh): its first renewal is the normal way to writes.
          LOG.info("{} holds the primary Lease and renewed it: it takes writes", me);
        } else {
          LOG.warn("fence lifted: {} holds the primary Lease and renewed it; it takes writes again", me);
        }
      } catch (SQLException e) {
        problem("cannot lift the fence: " + e.getMessage());
      }
    }
    firstRoundDone = true;
    return GrantTimes.renewPeriod(duration);
  }

  /** The Lease as last read or renewed names this pod. */
  private boolean heldByMe() {
    return held != null && me.equals(held.getSpec().getHolderIdentity());
  }

  /**
   * One renewal from {@code copy}. Returns the Lease as it stands after it; empty when it failed, and
   * then the next read starts from the API server again ({@link #held} is dropped: the copy may be stale).
   */
  private Optional<PrimaryRecord> renew(long start, Lease copy) {
    try {
      held = leases.renewAsHolder(copy, me);
      lastRenewalStart = start;
      if (lastProblem != null) {
        LOG.info("renewed the primary Lease again");
        lastProblem = null;
      }
      return Optional.of(PrimaryLease.toRecord(held));
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      held = null;
      if (e.getCode() != 409) {
        problem("cannot renew the primary Lease: " + describe(e));
      }
      // 409: written since (the operator records a promotion, a failover moves it): read it again.
      return Optional.empty();
    } catch (RuntimeException e) {
      held = null;
      problem("cannot renew the primary Lease: " + describe(e));
      return Optional.empty();
    }
  }

  /**
   * The bound holds even while a round is stuck on the network (a request to an API server that does
   * not answer takes its whole timeout): every 100 ms, a primary whose grant ran out is fenced from here.
   */
  void guard() {
    GrantPolicy.Local local = lastLocal;
    if (local == null || local.role() != GrantPolicy.Role.PRIMARY || (local.fenced() && local.readOnly())) {
      return;
    }
    Long renewed = lastRenewalStart;
    long now = System.nanoTime();
    if (renewed == null) {
      // Before its first round is over the agent knows nothing; the round decides (a failed first renewal
      // fences). Only a first round stuck on the network for the whole fence deadline fences from here.
      Duration fenceAfter = GrantTimes.fenceAfter(lastDuration);
      if (!firstRoundDone && Duration.ofNanos(now - startedAt).compareTo(fenceAfter) >= 0) {
        fence("the primary Lease could not be renewed in the " + fenceAfter.toMillis() + " ms since this agent"
            + " started");
      }
      return;
    }
    GrantPolicy.Step step = GrantPolicy.decide(Optional.empty(), me, local, Optional.of(Duration.ofNanos(now - renewed)),
        lastDuration);
    if (step instanceof GrantPolicy.Fence fence) {
      fence(fence.reason());
    }
  }

  private synchronized void fence(String reason) {
    GrantPolicy.Local local = lastLocal;
    if (local != null && local.fenced() && local.readOnly()) {
      return;  // the other thread has just done it
    }
    long fenceStart = System.nanoTime();
    String how = postgres.fence(reason);
    lastLocal = new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, true, true);
    LOG.warn("FENCED this primary ({}) in {} ms: {}", how, (System.nanoTime() - fenceStart) / 1_000_000, reason);
  }

  /** Logged once per streak of the same problem: a long API outage must not flood the log. */
  private void problem(String message) {
    if (!message.equals(lastProblem)) {
      LOG.warn("{}", message);
      lastProblem = message;
    }
  }

  /** The client's message names the operation; its cause says what went wrong (a timeout, a refusal). */
  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == e ? e.getMessage() : e.getMessage() + " (" + root + ")";
  }

  private static String require(Map<String, String> env, String name) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("the agent needs " + name + " in its environment");
    }
    return value;
  }
}
