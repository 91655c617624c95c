package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kubectl pgc}: the day-2 command line for PgClusters. A kubectl plugin (kubectl runs
 * {@code kubectl-pgc} from the PATH); it talks to the cluster through the same kubeconfig.
 */
@Command(name = "kubectl pgc", mixinStandardHelpOptions = true, versionProvider = Pgc.Version.class,
    description = "Day-2 operations on PgClusters (pgcluster-operator).",
    subcommands = {StatusCommand.class, SwitchoverCommand.class, PromoteCommand.class, FenceCommand.Fence.class,
        FenceCommand.Unfence.class, RestartCommand.class, PsqlCommand.class,
        LogsCommand.class, ReportCommand.class, CommandLine.HelpCommand.class})
public final class Pgc {
  @Option(names = {"-n", "--namespace"}, description = "The cluster's namespace (default: the kubeconfig's).",
      scope = CommandLine.ScopeType.INHERIT)
  String namespace;

  @Option(names = "--kubeconfig", description = "The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
      scope = CommandLine.ScopeType.INHERIT)
  Path kubeconfig;

  @Option(names = "--context", description = "The kubeconfig context to use.", scope = CommandLine.ScopeType.INHERIT)
  String context;

  private KubernetesClient client;

  public static void main(String[] args) {
    quietLibraries();
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs one command; the exit status: 0 done, 1 refused or failed (one line on err), 2 bad usage. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    Pgc root = new Pgc();
    CommandLine line = new CommandLine(root);
    line.setOut(out);
    line.setErr(err);
    line.setExecutionExceptionHandler((e, cmd, parsed) -> {
      String message = e instanceof KubernetesClientException k ? apiMessage(k) : e.getMessage();
      cmd.getErr().println("error: " + (message == null ? e.toString() : message));
      return 1;
    });
    try {
      return line.execute(args);
    } finally {
      if (root.client != null) {
        root.client.close();
      }
    }
  }

  /** One client per run, configured like kubectl (kubeconfig, context, namespace). */
  KubernetesClient client() {
    if (client == null) {
      Config config;
      if (kubeconfig != null) {
        try {
          config = Config.fromKubeconfig(context, Files.readString(kubeconfig), kubeconfig.toString());
        } catch (java.nio.file.NoSuchFileException e) {
          throw new Failure("the kubeconfig " + kubeconfig + " does not exist");
        } catch (java.io.IOException e) {
          throw new Failure("cannot read the kubeconfig " + kubeconfig + ": " + e.getMessage());
        }
      } else {
        config = Config.autoConfigure(context);
      }
      client = new KubernetesClientBuilder().withConfig(config).build();
    }
    return client;
  }

  String namespace() {
    if (namespace != null) {
      return namespace;
    }
    String fromConfig = client().getNamespace();
    return fromConfig == null ? "default" : fromConfig;
  }

  /** The cluster, or a Failure that says where it was looked for. */
  PgCluster cluster(String name) {
    PgCluster cluster = client().resources(PgCluster.class).inNamespace(namespace()).withName(name).get();
    if (cluster == null) {
      throw new Failure("pgcluster " + name + " not found in namespace " + namespace());
    }
    return cluster;
  }

  /** A refusal or failure the user reads as one line; the exit status is 1. */
  static final class Failure extends RuntimeException {
    Failure(String message) {
      super(message);
    }
  }

  private static String apiMessage(KubernetesClientException e) {
    if (e.getStatus() != null && e.getStatus().getMessage() != null) {
      return e.getStatus().getMessage();
    }
    return e.getMessage();
  }

  /** The operator's jar brings its logging configuration; a CLI only shows its own output. */
  private static void quietLibraries() {
    org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    if (root instanceof ch.qos.logback.classic.Logger logback) {
      logback.setLevel(ch.qos.logback.classic.Level.ERROR);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Pgc.class.getPackage().getImplementationVersion();
      return new String[] {"kubectl pgc " + (version == null ? "(development build)" : version)};
    }
  }
}
