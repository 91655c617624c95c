package dev.pgcluster.operator.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Every operator setting, read once at start-up from environment variables. The Helm chart's values
 * mirror these names (see docs/configuration.md).
 *
 * @param watchNamespaces namespaces to watch; empty = all namespaces (PGC_WATCH_NAMESPACES, comma-separated)
 * @param logLevel root log level (PGC_LOG_LEVEL: TRACE, DEBUG, INFO, WARN, ERROR)
 * @param logFormat text or json (PGC_LOG_FORMAT)
 * @param httpPort port of /healthz, /readyz and /metrics (PGC_HTTP_PORT; 0 = any free port)
 * @param httpAddress address they listen on (PGC_HTTP_ADDRESS; empty = every interface). The pod's IP
 *     when pods share the node's network (hostNetwork), where two replicas on one node would clash.
 * @param leaderElection run only while holding the operator Lease (PGC_LEADER_ELECTION)
 * @param leaseNamespace namespace of the operator Lease (PGC_LEASE_NAMESPACE, default POD_NAMESPACE)
 * @param identity this replica's identity in the operator Lease and in events (POD_NAME or hostname)
 * @param sqlConnectTimeout timeout of SQL connections to instances (PGC_SQL_CONNECT_TIMEOUT_SECONDS)
 * @param sqlSocketTimeout timeout of SQL reads from instances (PGC_SQL_SOCKET_TIMEOUT_SECONDS)
 * @param statusRefresh period of status refreshes when nothing changes (PGC_STATUS_REFRESH_SECONDS)
 * @param leaderLease the operator Lease's timings: a killed leader is replaced within its duration plus
 *     one retry period (PGC_LEADER_LEASE_DURATION_SECONDS 4, PGC_LEADER_RENEW_DEADLINE_SECONDS 3,
 *     PGC_LEADER_RETRY_PERIOD_MILLIS 500)
 * @param agentImage the image of the agent beside each PostgreSQL: the operator's own (PGC_AGENT_IMAGE)
 */
public record OperatorConfig(
    Set<String> watchNamespaces,
    String logLevel,
    String logFormat,
    int httpPort,
    String httpAddress,
    boolean leaderElection,
    String leaseName,
    String leaseNamespace,
    String identity,
    Duration sqlConnectTimeout,
    Duration sqlSocketTimeout,
    Duration statusRefresh,
    LeaderLease leaderLease,
    String agentImage) {

  /**
   * A leader that cannot renew for {@code renewDeadline} stops leading (and exits); the others try
   * every {@code retryPeriod} and take over once {@code duration} has passed since the last renewal.
   */
  public record LeaderLease(Duration duration, Duration renewDeadline, Duration retryPeriod) {
    public LeaderLease {
      if (!(duration.compareTo(renewDeadline) > 0 && renewDeadline.compareTo(retryPeriod) > 0
          && !retryPeriod.isNegative() && !retryPeriod.isZero())) {
        throw new IllegalArgumentException("the operator Lease needs duration > renew deadline > retry period > 0,"
            + " not " + duration.toMillis() + " ms > " + renewDeadline.toMillis() + " ms > " + retryPeriod.toMillis()
            + " ms (PGC_LEADER_LEASE_DURATION_SECONDS, PGC_LEADER_RENEW_DEADLINE_SECONDS,"
            + " PGC_LEADER_RETRY_PERIOD_MILLIS)");
      }
    }
  }

  public static final String LEASE_NAME = "pgcluster-operator-leader";

  public static OperatorConfig fromEnv(Map<String, String> env) {
    String identity = env.getOrDefault("POD_NAME", env.getOrDefault("HOSTNAME", "pgcluster-operator-local"));
    String format = env.getOrDefault("PGC_LOG_FORMAT", "text").toLowerCase();
    if (!format.equals("text") && !format.equals("json")) {
      throw new IllegalArgumentException("PGC_LOG_FORMAT must be text or json, not " + format);
    }
    return new OperatorConfig(
        Arrays.stream(env.getOrDefault("PGC_WATCH_NAMESPACES", "").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet()),
        env.getOrDefault("PGC_LOG_LEVEL", "INFO").toUpperCase(),
        format,
        intValue(env, "PGC_HTTP_PORT", 8080),
        env.getOrDefault("PGC_HTTP_ADDRESS", "").trim(),
        Boolean.parseBoolean(env.getOrDefault("PGC_LEADER_ELECTION", "true")),
        env.getOrDefault("PGC_LEASE_NAME", LEASE_NAME),
        env.getOrDefault("PGC_LEASE_NAMESPACE", env.getOrDefault("POD_NAMESPACE", "default")),
        identity,
        Duration.ofSeconds(intValue(env, "PGC_SQL_CONNECT_TIMEOUT_SECONDS", 2)),
        Duration.ofSeconds(intValue(env, "PGC_SQL_SOCKET_TIMEOUT_SECONDS", 5)),
        Duration.ofSeconds(intValue(env, "PGC_STATUS_REFRESH_SECONDS", 10)),
        new LeaderLease(Duration.ofSeconds(intValue(env, "PGC_LEADER_LEASE_DURATION_SECONDS", 4)),
            Duration.ofSeconds(intValue(env, "PGC_LEADER_RENEW_DEADLINE_SECONDS", 3)),
            Duration.ofMillis(intValue(env, "PGC_LEADER_RETRY_PERIOD_MILLIS", 500))),
        env.getOrDefault("PGC_AGENT_IMAGE", dev.pgcluster.operator.render.StatefulSetRenderer.DEFAULT_AGENT_IMAGE));
  }

  private static int intValue(Map<String, String> env, String key, int defaultValue) {
    String value = env.get(key);
    if (value == null || value.isBlank()) {
      return defaultValue;
    }
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be an integer, not '" + value + "'", e);
    }
  }
}
