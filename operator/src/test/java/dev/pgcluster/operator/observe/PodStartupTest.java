package dev.pgcluster.operator.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PodStartupTest {
  static final Instant NOW = Instant.parse("2026-12-02T00:01:00Z");

  enum Bootstrap { RUNNING, DONE, FAILED }

  static Pod pod(int ageSeconds, String ip, Bootstrap bootstrap, boolean postgresRunning, boolean deleting) {
    var b = new PodBuilder().withNewMetadata().withName("pg-1")
        .withCreationTimestamp(NOW.minusSeconds(ageSeconds).toString())
        .withDeletionTimestamp(deleting ? NOW.toString() : null).endMetadata()
        .withNewStatus().withPodIP(ip)
        .withInitContainerStatuses(new ContainerStatusBuilder().withName("bootstrap").withNewState()
            .withNewRunning().endRunning().endState().build())
        .endStatus();
    Pod pod = b.build();
    if (bootstrap != Bootstrap.RUNNING) {
      pod.getStatus().getInitContainerStatuses().set(0, new ContainerStatusBuilder().withName("bootstrap").withNewState()
          .withNewTerminated().withExitCode(bootstrap == Bootstrap.DONE ? 0 : 1).endTerminated().endState().build());
    }
    pod.getStatus().getContainerStatuses().add(postgresRunning
        ? new ContainerStatusBuilder().withName("postgres").withNewState().withNewRunning().endRunning().endState().build()
        : new ContainerStatusBuilder().withName("postgres").withNewState().withNewWaiting().withReason("PodInitializing")
            .endWaiting().endState().build());
    return pod;
  }

  static Pod restarted() {
    Pod pod = pod(30, "10.0.0.1", Bootstrap.DONE, false, false);
    pod.getStatus().getContainerStatuses().get(0).setRestartCount(1);
    return pod;
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("no address yet", pod(5, null, Bootstrap.RUNNING, false, false), true),
        Arguments.of("bootstrap running", pod(5, "10.0.0.1", Bootstrap.RUNNING, false, false), true),
        Arguments.of("bootstrap failed", pod(5, "10.0.0.1", Bootstrap.FAILED, false, false), true),
        Arguments.of("bootstrapped, postgres waiting", pod(5, "10.0.0.1", Bootstrap.DONE, false, false), true),
        Arguments.of("postgres running", pod(5, "10.0.0.1", Bootstrap.DONE, true, false), false),
        Arguments.of("postgres restarted (crashed since it ran)", restarted(), false),
        Arguments.of("unstarted past the grace", pod(61, null, Bootstrap.RUNNING, false, false), false),
        Arguments.of("being deleted", pod(5, "10.0.0.1", Bootstrap.RUNNING, false, true), false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void starting(String name, Pod pod, boolean starting) {
    assertEquals(starting, PodStartup.starting(pod, NOW));
  }

  /** Being created: young and its postgres never failed, whether or not it runs yet (its first replay). */
  static Stream<Arguments> creatingCases() {
    return Stream.of(
        Arguments.of("no address yet", pod(5, null, Bootstrap.RUNNING, false, false), true),
        Arguments.of("cloning", pod(5, "10.0.0.1", Bootstrap.RUNNING, false, false), true),
        Arguments.of("postgres running, not Ready yet", pod(5, "10.0.0.1", Bootstrap.DONE, true, false), true),
        Arguments.of("postgres restarted (crashed since it ran)", restarted(), false),
        Arguments.of("past the grace", pod(61, "10.0.0.1", Bootstrap.DONE, true, false), false),
        Arguments.of("being deleted", pod(5, "10.0.0.1", Bootstrap.RUNNING, false, true), false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("creatingCases")
  void creating(String name, Pod pod, boolean creating) {
    assertEquals(creating, PodStartup.creating(pod, NOW));
  }

  @org.junit.jupiter.api.Test
  void noPod() {
    assertEquals(false, PodStartup.starting(null, NOW));
  }
}
