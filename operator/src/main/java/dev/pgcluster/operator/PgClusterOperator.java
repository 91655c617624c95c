package dev.pgcluster.operator;

import dev.pgcluster.operator.config.OperatorConfig;
import dev.pgcluster.operator.http.HttpEndpoints;
import dev.pgcluster.operator.metrics.PgClusterMetrics;
import dev.pgcluster.operator.reconcile.PgClusterReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
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
  private final HttpEndpoints http;
  private final AtomicBoolean started;

  private PgClusterOperator(Operator operator, HttpEndpoints http, AtomicBoolean started) {
    this.operator = operator;
    this.http = http;
    this.started = started;
  }

  public static void main(String[] args) throws IOException {
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
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    PgClusterMetrics metrics = new PgClusterMetrics(registry);
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withMetrics(MicrometerMetrics.newMicrometerMetricsBuilder(registry).build())
          // Status is patched with a JSON merge patch: the same on every API server, and explicit.
          .withUseSSAToPatchPrimaryResource(false)
          .withCloseClientOnStop(false);
      if (config.leaderElection()) {
        o.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder
            .aLeaderElectionConfiguration(config.leaseName())
            .withLeaseNamespace(config.leaseNamespace())
            .withIdentity(config.identity())
            .withExitOnStopLeading(exitOnLeaseLoss)
            .build());
      }
    });
    operator.register(new PgClusterReconciler(client, config, metrics, Clock.systemUTC()), c -> {
      if (!config.watchNamespaces().isEmpty()) {
        c.settingNamespaces(config.watchNamespaces());
      }
    });
    AtomicBoolean started = new AtomicBoolean();
    PgClusterOperator running = new PgClusterOperator(operator,
        new HttpEndpoints(config.httpAddress(), config.httpPort(), registry, started::get), started);
    operator.start();
    running.started.set(true);
    LOG.info("pgcluster-operator started as {} (leader election {}, namespaces {}), http port {}",
        config.identity(), config.leaderElection() ? "on" : "off",
        config.watchNamespaces().isEmpty() ? "all" : config.watchNamespaces(), running.http.port());
    return running;
  }

  public int httpPort() {
    return http.port();
  }

  @Override
  public void close() {
    operator.stop();
    http.close();
  }
}
