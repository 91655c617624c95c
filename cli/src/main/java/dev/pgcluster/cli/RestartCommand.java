package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.render.Labels;
import dev.pgcluster.operator.render.StatefulSetRenderer;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "restart", description = "Restart every instance (a rolling restart: standbys first, the primary"
    + " by a switchover), or one standby (its pod is deleted and recreated on its volume).")
final class RestartCommand implements Callable<Integer> {
  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Parameters(index = "1", arity = "0..1", paramLabel = "POD", description = "One standby to restart.")
  String pod;

  @picocli.CommandLine.Option(names = "--force", description = "Restart every instance even when no standby can take"
      + " over (one instance, or only delayed standbys): the primary then restarts in place and writes stop meanwhile.")
  boolean force;

  @Override
  public Integer call() {
    var out = spec.commandLine().getOut();
    PgCluster cluster = pgc.cluster(name);
    var status = cluster.getStatus();
    if (status == null || status.currentPrimary == null
        || (status.phase != ClusterPhase.Healthy && status.phase != ClusterPhase.Degraded)) {
      throw new Pgc.Failure(name + " is " + (status == null ? "not reconciled yet" : String.valueOf(status.phase))
          + ": no restart while it has no healthy primary; nothing changed");
    }
    if (pod == null) {
      boolean takeover = status.instances.stream().anyMatch(i -> i.role == InstanceRole.REPLICA
          && Boolean.TRUE.equals(i.ready));
      if (!takeover && !force) {
        throw new Pgc.Failure("no ready standby of " + name + " can take over: the primary would restart in place and"
            + " writes stop meanwhile; add --force to accept that; nothing changed");
      }
      String at = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
      pgc.client().resources(PgCluster.class).inNamespace(pgc.namespace()).withName(name).patch(
          PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"annotations\":{\"" + StatefulSetRenderer.RESTARTED_AT + "\":\"" + at + "\"}}}");
      out.println("rolling restart of " + name + " requested (" + StatefulSetRenderer.RESTARTED_AT + " = " + at
          + "): standbys first, then the primary by a switchover; follow it with kubectl pgc status " + name);
      return 0;
    }
    boolean member = status.instances.stream().anyMatch(i -> pod.equals(i.name));
    if (!member) {
      throw new Pgc.Failure(pod + " is not an instance of " + name + "; nothing changed");
    }
    // The status may be a moment old: the pod's own role label, read now, has the last word.
    var live = pgc.client().pods().inNamespace(pgc.namespace()).withName(pod).get();
    String role = live == null || live.getMetadata().getLabels() == null ? null
        : live.getMetadata().getLabels().get(Labels.ROLE);
    if (pod.equals(status.currentPrimary) || InstanceRole.PRIMARY.label().equals(role)) {
      throw new Pgc.Failure(pod + " is the primary: restarting it alone would stop writes until a failover; switch"
          + " over first (kubectl pgc switchover " + name + " --to <standby>) or restart the whole cluster (kubectl"
          + " pgc restart " + name + "), which switches over for you; nothing changed");
    }
    pgc.client().pods().inNamespace(pgc.namespace()).withName(pod).delete();
    out.println("pod " + pod + " deleted: its StatefulSet recreates it on the same volume and it rejoins as a"
        + " standby");
    return 0;
  }
}
