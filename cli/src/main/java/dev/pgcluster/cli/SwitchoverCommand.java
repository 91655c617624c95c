package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "switchover", description = "A planned change of primary to a chosen standby: writes the spec's"
    + " switchover with a fresh id (as a GitOps change would), then follows it until the standby is the primary.")
final class SwitchoverCommand implements Callable<Integer> {
  private static final DateTimeFormatter ID = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS").withZone(ZoneOffset.UTC);

  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Option(names = "--to", required = true, paramLabel = "POD", description = "The standby to promote, e.g. pg-1.")
  String target;

  @Option(names = "--wait", negatable = true, defaultValue = "true",
      description = "Follow the switchover until it is done (default); --no-wait returns once it is requested.")
  boolean wait;

  @Option(names = "--timeout", defaultValue = "120", description = "Seconds to follow it (default 120).")
  int timeoutSeconds;

  @Option(names = "--max-lag-bytes", defaultValue = "16777216",
      description = "Refuse a standby further behind than this (default 16 MiB).")
  long maxLagBytes;

  /** A fresh spec.switchover.id: the time, to the millisecond. */
  static String newId() {
    return "pgc-" + ID.format(Instant.now());
  }

  @Override
  public Integer call() throws InterruptedException {
    var out = spec.commandLine().getOut();
    PgCluster cluster = pgc.cluster(name);
    SwitchoverCheck.refusal(cluster, target, maxLagBytes).ifPresent(reason -> {
      throw new Pgc.Failure(reason + "; nothing changed");
    });
    String from = cluster.getStatus().currentPrimary;
    String id = newId();
    // force: null, so that a force left by an earlier `promote` never turns this into a forced promotion.
    String patch = "{\"spec\":{\"switchover\":{\"target\":\"" + target + "\",\"id\":\"" + id
        + "\",\"force\":null}}}";
    pgc.client().resources(PgCluster.class).inNamespace(pgc.namespace()).withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
    out.println("switchover " + id + " requested: " + from + " -> " + target
        + " (spec.switchover of " + pgc.namespace() + "/" + name + ")");
    out.flush();
    if (!wait) {
      return 0;
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      PgCluster now = pgc.cluster(name);
      var s = now.getStatus();
      String line = s == null ? "no status" : "phase " + s.phase + ", primary " + s.currentPrimary;
      if (!line.equals(last)) {
        out.println("  " + line);
        out.flush();
        last = line;
      }
      var aborted = pgc.client().v1().events().inNamespace(pgc.namespace()).withField("reason", "SwitchoverAborted")
          .withField("involvedObject.name", name).list().getItems().stream()
          .filter(e -> e.getMessage() != null && e.getMessage().contains(id))
          .findFirst();
      if (aborted.isPresent()) {
        throw new Pgc.Failure("the operator aborted switchover " + id + ": " + aborted.get().getMessage());
      }
      if (s != null && target.equals(s.currentPrimary) && s.phase == dev.pgcluster.operator.api.v1alpha1.ClusterPhase.Healthy) {
        var change = s.lastPrimaryChange;
        out.println("done: " + target + " is the primary" + (change != null && change.promotionSeconds != null
            ? String.format(java.util.Locale.ROOT, " (promoted in %.2f s)", change.promotionSeconds) : ""));
        return 0;
      }
      Thread.sleep(500);
    }
    throw new Pgc.Failure("the switchover to " + target + " was not done within " + timeoutSeconds + " s; see kubectl pgc"
        + " status " + name + " and the cluster's events");
  }
}
