package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.observe.FencedInstances;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code fence} and {@code unfence}: edit the annotation pgcluster.dev/fenced-instances, then follow the status. */
abstract class FenceCommand implements Callable<Integer> {
  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Parameters(index = "1..*", arity = "1..*", paramLabel = "POD", description = "Instances, e.g. pg-1; * for all.")
  List<String> pods;

  @Option(names = "--timeout", defaultValue = "60", description = "Seconds to wait for the status (default 60).")
  int timeoutSeconds;

  abstract boolean fence();

  @Override
  public Integer call() throws InterruptedException {
    var out = spec.commandLine().getOut();
    PgCluster cluster = null;
    String value = null;
    // The resourceVersion read makes each attempt a compare-and-swap: a concurrent edit fails it (409)
    // and none is lost. The operator's status writes change the version too: read again and retry.
    for (int attempt = 1; ; attempt++) {
      cluster = pgc.cluster(name);
      PgCluster read = cluster;
      FenceEdit.refusal(read, pods).ifPresent(reason -> {
        throw new Pgc.Failure(reason + "; nothing changed");
      });
      value = FenceEdit.next(read, pods, fence());
      String patch = "{\"metadata\":{\"resourceVersion\":\"" + read.getMetadata().getResourceVersion()
          + "\",\"annotations\":{\"" + FencedInstances.ANNOTATION + "\":"
          + (value == null ? "null" : "\"" + value.replace("\"", "\\\"") + "\"") + "}}}";
      try {
        pgc.client().resources(PgCluster.class).inNamespace(pgc.namespace()).withName(name)
            .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
        break;
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 10) {
          throw e;
        }
      }
    }
    out.println(FencedInstances.ANNOTATION + " of " + pgc.namespace() + "/" + name + ": "
        + (value == null ? "removed" : value));
    if (fence()) {
      for (String pod : pods) {
        if (!FencedInstances.ALL.equals(pod)) {
          out.println("  " + FenceEdit.meaning(cluster, pod));
        }
      }
    }
    out.flush();
    String which = pods.contains(FencedInstances.ALL) ? "every instance" : String.join(", ", pods);
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    while (System.nanoTime() < deadline) {
      if (FenceEdit.shown(pgc.cluster(name), pods, fence())) {
        out.println("done: the status shows " + which + (fence() ? " fenced" : " unfenced"));
        return 0;
      }
      Thread.sleep(500);
    }
    throw new Pgc.Failure("the status does not show " + which + (fence() ? " fenced" : " unfenced")
        + " after " + timeoutSeconds + " s; is the operator running? (kubectl pgc status " + name + ")");
  }

  @Command(name = "fence", description = "Fence instances (annotation " + FencedInstances.ANNOTATION + "): a fenced"
      + " standby leaves -ro and is never promoted; a fenced primary takes no new write transactions and is"
      + " not failed over. PostgreSQL keeps running, for inspection.")
  static final class Fence extends FenceCommand {
    @Override
    boolean fence() {
      return true;
    }
  }

  @Command(name = "unfence", description = "Lift the fence of instances: back behind their Service, writable if the"
      + " primary, promotable again.")
  static final class Unfence extends FenceCommand {
    @Override
    boolean fence() {
      return false;
    }
  }
}
