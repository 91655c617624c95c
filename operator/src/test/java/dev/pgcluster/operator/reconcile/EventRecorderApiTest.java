package dev.pgcluster.operator.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.render.TestClusters;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Events as a series: the same one again counts up on one Event; another message is another Event. */
@EnableKubernetesMockClient(crud = true)
class EventRecorderApiTest {
  KubernetesClient client;

  @Test
  void aRepeatedEventCountsUpAndAnotherIsItsOwn() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    EventRecorder events = new EventRecorder(client, "test");
    for (int i = 0; i < 3; i++) {
      events.warning(cluster, EventReasons.ROLE_FAILED, "spec.roles[alice].passwordSecret: Secret alice-pw not found");
    }
    events.warning(cluster, EventReasons.ROLE_FAILED, "spec.roles[bob].passwordSecret: Secret bob-pw not found");
    events.normal(cluster, EventReasons.ROLE_FAILED, "spec.roles[alice].passwordSecret: Secret alice-pw not found");
    List<Event> recorded = client.v1().events().inNamespace("db").list().getItems().stream()
        .sorted(Comparator.comparing(Event::getMessage).thenComparing(Event::getType)).toList();
    assertEquals(List.of("Normal 1 spec.roles[alice].passwordSecret: Secret alice-pw not found",
        "Warning 3 spec.roles[alice].passwordSecret: Secret alice-pw not found",
        "Warning 1 spec.roles[bob].passwordSecret: Secret bob-pw not found"),
        recorded.stream().map(e -> e.getType() + " " + e.getCount() + " " + e.getMessage()).toList());
  }

  @Test
  void anEventGoneFromTheServerIsRecordedAfresh() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    EventRecorder events = new EventRecorder(client, "test");
    events.warning(cluster, EventReasons.ROLE_FAILED, "again");
    client.v1().events().inNamespace("db").delete();
    events.warning(cluster, EventReasons.ROLE_FAILED, "again");
    List<Event> recorded = client.v1().events().inNamespace("db").list().getItems();
    assertEquals(1, recorded.size());
    assertEquals(1, recorded.get(0).getCount());
  }
}
