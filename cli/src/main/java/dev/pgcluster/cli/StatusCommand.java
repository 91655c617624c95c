package dev.pgcluster.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "status", description = "The cluster at a glance: phase, primary, epoch, each instance's role,"
    + " timeline, lag, sync state and pending restart, the last change of primary and what it cost.")
final class StatusCommand implements Callable<Integer> {
  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Option(names = {"-o", "--output"}, description = "text (default) or json.", defaultValue = "text")
  String output;

  @Option(names = "--color", description = "auto (default: when the output is a terminal and NO_COLOR is unset),"
      + " always or never.", defaultValue = "auto")
  String color;

  @Override
  public Integer call() {
    if (!output.equals("text") && !output.equals("json")) {
      throw new Pgc.Failure("--output must be text or json, not " + output);
    }
    var cluster = pgc.cluster(name);
    spec.commandLine().getOut().print(output.equals("json") ? StatusView.json(cluster)
        : new StatusView(colour()).text(cluster));
    spec.commandLine().getOut().flush();
    return 0;
  }

  private boolean colour() {
    return switch (color) {
      case "always" -> true;
      case "never" -> false;
      default -> System.console() != null && System.getenv("NO_COLOR") == null
          && !"dumb".equals(System.getenv("TERM"));
    };
  }
}
