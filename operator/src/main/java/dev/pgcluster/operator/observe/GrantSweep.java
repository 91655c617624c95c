package dev.pgcluster.operator.observe;

import dev.pgcluster.operator.ha.GrantWatch;
import dev.pgcluster.operator.lease.PrimaryLease;
import dev.pgcluster.operator.render.Labels;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every primary Lease the operator manages, one LIST for all clusters every {@link #PERIOD},
 * and tells {@link GrantWatch} of each renewal. A failover is timed from the moment the operator saw
 * the holder's last renewal; the health poller reads the Lease once per probe cycle, and a cycle
 * stretches to about 3 s while a probe waits for a silent instance, so a renewal made just before a
 * node went silent was seen up to 3 s late, and the failover began that much later.
 */
public final class GrantSweep implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GrantSweep.class);
  static final Duration PERIOD = Duration.ofMillis(250);

  private final KubernetesClient client;
  private final GrantWatch grants;
  private final Set<String> namespaces;
  private final AtomicBoolean started = new AtomicBoolean();
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "grant-sweep");
    t.setDaemon(true);
    return t;
  });
  private long lastFailureLogged;

  /** @param namespaces the namespaces watched; empty: all */
  public GrantSweep(KubernetesClient client, GrantWatch grants, Set<String> namespaces) {
    this.client = client;
    this.grants = grants;
    this.namespaces = namespaces;
  }

  /** Starts sweeping, once (the leading operator calls it on its first reconcile). */
  public void start() {
    if (started.compareAndSet(false, true)) {
      thread.scheduleWithFixedDelay(this::sweep, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  void sweep() {
    try {
      for (Lease lease : primaryLeases()) {
        long readAt = grants.now();
        String cluster = lease.getMetadata().getLabels().get(Labels.CLUSTER);
        if (lease.getMetadata().getName().equals(cluster + "-primary")) {
          grants.sawRenewal(lease.getMetadata().getNamespace() + "/" + cluster, PrimaryLease.toRecord(lease), readAt);
        }
      }
    } catch (RuntimeException e) {
      // The API server is unreachable or slow: the reconciles and the poller say so; once a minute here.
      if (System.nanoTime() - lastFailureLogged > Duration.ofMinutes(1).toNanos()) {
        lastFailureLogged = System.nanoTime();
        LOG.info("could not list the primary Leases: {}", e.getMessage());
      }
    }
  }

  /** The Leases read as one, before {@link GrantWatch#now()} is taken for each: a read is timed after it. */
  private List<Lease> primaryLeases() {
    List<Lease> leases = new ArrayList<>();
    if (namespaces.isEmpty()) {
      leases.addAll(client.leases().inAnyNamespace().withLabel(Labels.MANAGED_BY, Labels.MANAGER)
          .withLabel(Labels.CLUSTER).list().getItems());
    } else {
      for (String namespace : namespaces) {
        leases.addAll(client.leases().inNamespace(namespace).withLabel(Labels.MANAGED_BY, Labels.MANAGER)
            .withLabel(Labels.CLUSTER).list().getItems());
      }
    }
    return leases;
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
