package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "promote", description = "A forced promotion of a chosen standby, for when the primary has failed and"
    + " the operator does not fail over on its own (failover disabled, too few synchronous standbys reachable) or"
    + " you want another standby than it would pick. Writes spec.switchover with force: true. Prints the risks and"
    + " asks for confirmation.")
final class PromoteCommand implements Callable<Integer> {
  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Parameters(index = "1", paramLabel = "POD", description = "The standby to promote, e.g. pg-1.")
  String target;

  @Option(names = "--force", description = "Also while the primary is healthy: then it is done as a switchover"
      + " (writes pause until the standby has replayed everything; nothing is lost).")
  boolean force;

  @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation.")
  boolean yes;

  @Option(names = "--wait", negatable = true, defaultValue = "true",
      description = "Follow it until the standby is the promoted primary (default); --no-wait returns once requested.")
  boolean wait;

  @Option(names = "--timeout", defaultValue = "120", description = "Seconds to follow it (default 120).")
  int timeoutSeconds;

  @Override
  public Integer call() throws InterruptedException, IOException {
    var out = spec.commandLine().getOut();
    PgCluster cluster = pgc.cluster(name);
    PromoteCheck.refusal(cluster, target, force).ifPresent(reason -> {
      throw new Pgc.Failure(reason + "; nothing changed");
    });
    String from = cluster.getStatus().currentPrimary;
    boolean switchover = PromoteCheck.primaryHealthy(cluster);
    List<String> risks = PromoteCheck.risks(cluster, target);
    if (switchover) {
      out.println("primary " + from + " is healthy: " + target + " is promoted by a switchover (writes pause until it"
          + " has replayed everything; nothing is lost)");
    } else {
      out.println("primary " + from + " is " + cluster.getStatus().phase + "; promoting " + target + " by force. Risks:");
      risks.forEach(r -> out.println("  - " + r));
    }
    out.flush();
    if (!yes) {
      out.print("type " + target + " to promote it: ");
      out.flush();
      String answer = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      if (answer == null || !answer.trim().equals(target)) {
        throw new Pgc.Failure("not confirmed; nothing changed");
      }
    }
    String id = SwitchoverCommand.newId();
    // Force only for a failed primary: while the primary answers this is an ordinary switchover, and a
    // force left armed could turn it into a forced promotion at a later failure nobody confirmed.
    String patch = "{\"spec\":{\"switchover\":{\"target\":\"" + target + "\",\"id\":\"" + id
        + "\",\"force\":" + (switchover ? "null" : "true") + "}}}";
    pgc.client().resources(PgCluster.class).inNamespace(pgc.namespace()).withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
    out.println((switchover ? "switchover " : "forced promotion ") + id + " requested: " + from + " -> " + target
        + " (spec.switchover of " + pgc.namespace() + "/" + name + (switchover ? ")" : ", force: true)"));
    out.flush();
    if (!wait) {
      return 0;
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      var s = pgc.cluster(name).getStatus();
      String line = s == null ? "no status" : "phase " + s.phase + ", primary " + s.currentPrimary;
      if (!line.equals(last)) {
        out.println("  " + line);
        out.flush();
        last = line;
      }
      var change = s == null ? null : s.lastPrimaryChange;
      if (change != null && target.equals(change.to) && change.promotedAt != null && target.equals(s.currentPrimary)) {
        out.println("done: " + target + " is the primary (epoch " + change.epoch + ")" + (change.promotionSeconds == null
            ? "" : String.format(java.util.Locale.ROOT, ", promoted %.1f s after the Lease moved", change.promotionSeconds))
            + (switchover ? "" : "; kubectl pgc status " + name + " shows what " + from + "'s rejoin discarded"));
        return 0;
      }
      Thread.sleep(500);
    }
    throw new Pgc.Failure(target + " was not promoted within " + timeoutSeconds + " s; see kubectl pgc status " + name
        + " and the cluster's events");
  }
}
