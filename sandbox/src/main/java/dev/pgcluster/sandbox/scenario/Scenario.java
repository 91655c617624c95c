package dev.pgcluster.sandbox.scenario;

/** A seed's walkthrough, run against the sandbox: it sets up its clusters, narrates, and checks. */
public interface Scenario {
  /** The name on the command line: bin/pgcluster-sandbox scenario NAME. */
  String name();

  /** One line: what it shows, and from which seed. */
  String title();

  void run(ScenarioContext context) throws Exception;
}
