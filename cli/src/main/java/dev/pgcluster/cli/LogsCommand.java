package dev.pgcluster.cli;

import dev.pgcluster.operator.render.Labels;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "logs", description = "The last lines of every container of every instance (bootstrap, postgres,"
    + " agent), each line prefixed with its pod and container.")
final class LogsCommand implements Callable<Integer> {
  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Option(names = "--tail", defaultValue = "50", description = "Lines per container (default 50).")
  int tail;

  @Option(names = "--pod", description = "Only this instance.")
  String pod;

  @Option(names = {"-c", "--container"}, description = "Only this container (bootstrap, postgres or agent).")
  String container;

  @Override
  public Integer call() {
    pgc.cluster(name);
    var out = spec.commandLine().getOut();
    List<Pod> pods = instancePods(pgc.client(), pgc.namespace(), name);
    if (pod != null) {
      pods = pods.stream().filter(p -> p.getMetadata().getName().equals(pod)).toList();
      if (pods.isEmpty()) {
        throw new Pgc.Failure("no pod " + pod + " in " + name);
      }
    }
    for (Pod p : pods) {
      for (String c : containers(p)) {
        if (container != null && !container.equals(c)) {
          continue;
        }
        String prefix = "[" + p.getMetadata().getName() + "/" + c + "] ";
        String log;
        try {
          log = pgc.client().pods().inNamespace(pgc.namespace()).withName(p.getMetadata().getName()).inContainer(c)
              .tailingLines(tail).getLog();
        } catch (KubernetesClientException e) {
          out.println(prefix + "(no log: " + e.getMessage() + ")");
          continue;
        }
        log.lines().forEach(l -> out.println(prefix + l));
      }
    }
    out.flush();
    return 0;
  }

  static List<Pod> instancePods(KubernetesClient client, String namespace, String cluster) {
    return client.pods().inNamespace(namespace).withLabel(Labels.CLUSTER, cluster).list().getItems().stream()
        .sorted(Comparator.comparing(p -> p.getMetadata().getName())).toList();
  }

  /** Init containers first, in the order they run. */
  static List<String> containers(Pod pod) {
    List<String> names = new ArrayList<>();
    if (pod.getSpec().getInitContainers() != null) {
      pod.getSpec().getInitContainers().stream().map(Container::getName).forEach(names::add);
    }
    pod.getSpec().getContainers().stream().map(Container::getName).forEach(names::add);
    return names;
  }
}
