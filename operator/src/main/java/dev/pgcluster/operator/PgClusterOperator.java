package dev.pgcluster.operator;

import dev.pgcluster.operator.config.OperatorConfig;
import dev.pgcluster.operator.http.HttpEndpoints;
import dev.pgcluster.operator.metrics.PgClusterMetrics;
import dev.pgcluster.operator.reconcile.PgClusterReconciler;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator process: JOSDK with the PgCluster reconciler, leader election over a Lease, and the
 * HTTP endpoints. {@link #main} reads the configuration from the environment and the Kubernetes
 * connection from the usual places (in-cluster service account, or KUBECONFIG).
 */
public final class PgClusterOperator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PgClusterOperator.class);

  private final Operator operator;
  private final PgClusterReconciler reconciler;
  private final HttpEndpoints http;
  private final AtomicBoolean started;
  private final AtomicBoolean closing;
  private final KubernetesClient client;
  private final OperatorConfig config;

  private PgClusterOperator(Operator operator, PgClusterReconciler reconciler, HttpEndpoints http,
      AtomicBoolean started, AtomicBoolean closing, KubernetesClient client, OperatorConfig config) {
    this.operator = operator;
    this.reconciler = reconciler;
    this.http = http;
    this.started = started;
    this.closing = closing;
    this.client = client;
    this.config = config;
  }

  public static void main(String[] args) throws IOException {
    if (args.length > 0 && args[0].equals("agent")) {
      LoggingSetup.apply(OperatorConfig.fromEnv(System.getenv()));
      dev.pgcluster.operator.agent.InstanceAgent.main(args);
      return;
    }
    OperatorConfig config = OperatorConfig.fromEnv(System.getenv());
    LoggingSetup.apply(config);
    PgClusterOperator running = start(new KubernetesClientBuilder().build(), config, true);
    Runtime.getRuntime().addShutdownHook(new Thread(running::close, "pgcluster-operator-shutdown"));
  }

  /**
   * Starts an operator on {@code client}. With {@code exitOnLeaseLoss} a replica that loses the leader
   * Lease exits (the Deployment restarts it); embedded uses pass false and stop it themselves.
   */
  public static PgClusterOperator start(KubernetesClient client, OperatorConfig config, boolean exitOnLeaseLoss)
      throws IOException {
    PrometheusMeterRegistry registry = PgClusterMetrics.registry();
    PgClusterMetrics metrics = new PgClusterMetrics(registry);
    AtomicBoolean closing = new AtomicBoolean();
    // Whether this replica reconciles: without leader election, from the start.
    AtomicBoolean leading = new AtomicBoolean(!config.leaderElection());
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withMetrics(MicrometerMetrics.newMicrometerMetricsBuilder(registry).build())
          // The reconciler writes the status itself (a replacement of /status, see
          // PgClusterReconciler.writeStatus); JOSDK patches nothing with server-side apply.
          .withUseSSAToPatchPrimaryResource(false)
          .withCloseClientOnStop(false);
      if (config.leaderElection()) {
        o.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder
            .aLeaderElectionConfiguration(config.leaseName())
            .withLeaseNamespace(config.leaseNamespace())
            .withIdentity(config.identity())
            .withLeaseDuration(config.leaderLease().duration())
            .withRenewDeadline(config.leaderLease().renewDeadline())
            .withRetryPeriod(config.leaderLease().retryPeriod())
            // JOSDK's own exit calls System.exit from the elector's stop callback, which during a
            // SIGTERM runs inside the shutdown hook and blocks the JVM for good. Exit here instead, and
            // only on a lease lost while running.
            .withExitOnStopLeading(false)
            .withLeaderCallbacks(new LeaderCallbacks(
                () -> {
                  leading.set(true);
                  LOG.info("{} leads: reconciling", config.identity());
                },
                () -> {
                  leading.set(false);
                  if (exitOnLeaseLoss && !closing.get()) {
                    LOG.error("{} lost the operator Lease (not renewed within {} ms): exiting, to restart as"
                        + " a follower", config.identity(), config.leaderLease().renewDeadline().toMillis());
                    new Thread(() -> System.exit(1), "exit-on-lease-loss").start();
                  }
                },
                leader -> LOG.info("operator leader is {}", leader)))
            .build());
      }
    });
    PgClusterReconciler reconciler = new PgClusterReconciler(client, config, metrics, Clock.systemUTC());
    operator.register(reconciler, c -> {
      if (!config.watchNamespaces().isEmpty()) {
        c.settingNamespaces(config.watchNamespaces());
      }
    });
    operator.register(new dev.pgcluster.operator.reconcile.PgBackupReconciler(client,
        new dev.pgcluster.operator.reconcile.EventRecorder(client, config.identity())), c -> {
          if (!config.watchNamespaces().isEmpty()) {
            c.settingNamespaces(config.watchNamespaces());
          }
        });
    AtomicBoolean started = new AtomicBoolean();
    dev.pgcluster.operator.http.Liveness liveness = new dev.pgcluster.operator.http.Liveness(
        () -> started.get() && leading.get(), () -> unhealthyEventSources(operator), Clock.systemUTC());
    PgClusterOperator running = new PgClusterOperator(operator, reconciler,
        new HttpEndpoints(config.httpAddress(), config.httpPort(), registry, started::get, liveness), started, closing,
        client, config);
    operator.start();
    running.started.set(true);
    LOG.info("pgcluster-operator started as {} (leader election {}, namespaces {}), http port {}",
        config.identity(), config.leaderElection() ? "on" : "off",
        config.watchNamespaces().isEmpty() ? "all" : config.watchNamespaces(), running.http.port());
    return running;
  }

  /** "controller/event source" for each event source JOSDK reports as not healthy. */
  private static java.util.List<String> unhealthyEventSources(Operator operator) {
    java.util.List<String> out = new java.util.ArrayList<>();
    operator.getRuntimeInfo().unhealthyEventSources().forEach((controller, sources) ->
        sources.forEach((source, health) -> out.add(controller + "/" + source)));
    return out;
  }

  public int httpPort() {
    return http.port();
  }

  /**
   * Stops reconciling, then hands the operator Lease over at once (holder cleared, as client-go's
   * ReleaseOnCancel does), so that a rolling update or a pod deletion does not leave the clusters
   * without an operator for a whole lease duration.
   */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    long start = System.nanoTime();
    operator.stop();
    reconciler.close();
    if (config.leaderElection()) {
      releaseLeaderLease();
    }
    http.close();
    LOG.info("{} stopped in {} ms", config.identity(), (System.nanoTime() - start) / 1_000_000);
  }

  private void releaseLeaderLease() {
    var leases = client.leases().inNamespace(config.leaseNamespace());
    // A renewal still in flight when the elector stopped can win the race: read again and retry.
    for (int attempt = 1; attempt <= 5; attempt++) {
      try {
        Lease lease = leases.withName(config.leaseName()).get();
        if (lease == null || lease.getSpec() == null
            || !config.identity().equals(lease.getSpec().getHolderIdentity())) {
          return;
        }
        lease.getSpec().setHolderIdentity("");
        lease.getSpec().setLeaseDurationSeconds(1);
        lease.getSpec().setRenewTime(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC));
        leases.resource(lease).update();  // a CAS: fails if another replica took it meanwhile
        LOG.info("{} released the operator Lease {}", config.identity(), config.leaseName());
        return;
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 5) {
          LOG.info("could not release the operator Lease ({}); the next leader takes it when it expires",
              e.getMessage());
          return;
        }
      } catch (RuntimeException e) {
        LOG.info("could not release the operator Lease ({}); the next leader takes it when it expires", e.toString());
        return;
      }
    }
  }
}
