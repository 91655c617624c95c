package dev.pgcluster.operator.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.ha.GrantWatch;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.lease.PrimaryLease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** One LIST of the primary Leases tells the grant watch of every renewal, whatever the probes wait for. */
@EnableKubernetesMockClient(crud = true)
class GrantSweepApiTest {
  KubernetesClient client;

  @Test
  void aRenewalIsSeenAtTheSweepThatReadsIt() {
    AtomicLong nanos = new AtomicLong(1);
    GrantWatch grants = new GrantWatch(nanos::get);
    PrimaryLease leases = new PrimaryLease(client, Clock.systemUTC());
    Map<String, String> labels = Map.of("app.kubernetes.io/managed-by", "pgcluster-operator",
        "pgcluster.dev/cluster", "pg");
    PrimaryRecord first = leases.create("db", "pg-primary", "pg-0", 4, labels);
    grants.observe("db/pg", first, true);
    GrantSweep sweep = new GrantSweep(client, grants, Set.of());
    nanos.addAndGet(Duration.ofMillis(500).toNanos());
    client.leases().inNamespace("db").withName("pg-primary").edit(l -> {
      l.getSpec().setRenewTime(ZonedDateTime.now().plusSeconds(1));  // the agent renews
      return l;
    });
    nanos.addAndGet(Duration.ofMillis(250).toNanos());
    sweep.sweep();
    nanos.addAndGet(Duration.ofSeconds(1).toNanos());
    GrantWatch.Grant grant = grants.observe("db/pg", leases.read("db", "pg-primary").orElseThrow(), true);
    assertEquals(Duration.ofSeconds(1), grant.silence(), "counted from the sweep, 1 s ago");
  }
}
