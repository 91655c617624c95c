package dev.pgcluster.sandbox.scenario;

import dev.pgcluster.sandbox.Sandbox;
import java.io.PrintStream;
import java.util.List;
import java.util.Optional;

/** bin/pgcluster-sandbox scenario NAME: a seed's walkthrough against a fresh sandbox, narrated and checked. */
public final class Scenarios {
  public static final List<Scenario> ALL = List.of(new SyncBlocks(), new AsyncLoss(), new DelayedStandby(),
      new ManualFailover(), new FailureDetection(), new StrongQuorum(), new ActiveActive());

  private Scenarios() {}

  public static Optional<Scenario> named(String name) {
    return ALL.stream().filter(s -> s.name().equals(name)).findFirst();
  }

  /** Exit status: 0 it turned out as narrated, 1 it did not, 2 no such scenario. */
  public static int main(List<String> args, PrintStream out) throws Exception {
    Optional<Scenario> scenario = args.isEmpty() ? Optional.empty() : named(args.get(0));
    if (scenario.isEmpty()) {
      out.println((args.isEmpty() ? "" : "error: no scenario " + args.get(0) + "\n")
          + "usage: bin/pgcluster-sandbox scenario NAME, one of:");
      ALL.forEach(s -> out.printf("  %-16s %s%n", s.name(), s.title()));
      return 2;
    }
    out.println("Starting the sandbox (a real Kubernetes control plane; pods are local processes)...");
    try (Sandbox sandbox = Sandbox.start()) {
      sandbox.installOperator();
      return run(scenario.get(), sandbox, out) ? 0 : 1;
    }
  }

  /** Runs one scenario on a sandbox with the operator installed; true when every check held. */
  public static boolean run(Scenario scenario, Sandbox sandbox, PrintStream out) {
    Narrator narrator = new Narrator(out);
    narrator.say("scenario " + scenario.name() + ": " + scenario.title());
    try {
      scenario.run(new ScenarioContext(sandbox, narrator));
    } catch (Exception | AssertionError e) {
      narrator.check("the scenario ran to its end", "no error", e.toString(), false);
    }
    narrator.summary(scenario.name());
    return narrator.passed();
  }
}
