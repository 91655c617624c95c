package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.TlsSpec;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.observe.SecretValues;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.LocalPortForward;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "psql", description = "psql on the primary (-rw) or the standbys (--ro), as the application's"
    + " owner (the app Secret) or the superuser. Connects to the Service's address when this machine reaches it,"
    + " else through a port-forward. Arguments after -- go to psql.")
final class PsqlCommand implements Callable<Integer> {
  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Parameters(index = "1..*", paramLabel = "PSQL-ARGS", description = "Given to psql (after --).")
  List<String> psqlArgs = new ArrayList<>();

  @Option(names = "--ro", description = "The standbys (the -ro Service) instead of the primary.")
  boolean readOnly;

  @Option(names = "--superuser", description = "As postgres, to the postgres database.")
  boolean superuser;

  @Override
  public Integer call() throws Exception {
    PgCluster cluster = pgc.cluster(name);
    PgClusterNames names = PgClusterNames.of(cluster);
    String ns = pgc.namespace();
    String service = readOnly ? names.readOnlyService() : names.readWriteService();
    var svc = pgc.client().services().inNamespace(ns).withName(service).get();
    if (svc == null || svc.getSpec().getClusterIP() == null) {
      throw new Pgc.Failure("the Service " + service + " does not exist (yet)");
    }
    String user = superuser ? PgClusterNames.SUPERUSER : cluster.getSpec().bootstrap.owner;
    String database = superuser ? "postgres" : cluster.getSpec().bootstrap.database;
    String secretName = superuser
        ? (cluster.getSpec().bootstrap.superuserSecret != null ? cluster.getSpec().bootstrap.superuserSecret
            : names.superuserSecret())
        : (cluster.getSpec().bootstrap.ownerSecret != null ? cluster.getSpec().bootstrap.ownerSecret : names.appSecret());
    Secret secret = pgc.client().secrets().inNamespace(ns).withName(secretName).get();
    String password = SecretValues.value(secret, "password")
        .orElseThrow(() -> new Pgc.Failure("the Secret " + secretName + " has no password"));
    String psql = findOnPath("psql");
    if (psql == null) {
      throw new Pgc.Failure("psql is not installed on this machine (Debian: apt-get install postgresql-client)");
    }
    String address = svc.getSpec().getClusterIP();
    int port = PgClusterNames.POSTGRES_PORT;
    LocalPortForward forward = null;
    Path ca = null;
    try {
      if (!reachable(address, port)) {
        forward = pgc.client().services().inNamespace(ns).withName(service).portForward(port);
        address = "127.0.0.1";
        port = forward.getLocalPort();
        spec.commandLine().getErr().println("(" + service + " is not reachable from here: through a port-forward on "
            + address + ":" + port + ")");
      }
      StringBuilder conninfo = new StringBuilder("port=" + port + " user=" + user + " dbname=" + database);
      if (TlsSpec.enabled(cluster.getSpec())) {
        // Verify the server by the Service's name while connecting to the address this machine reaches.
        Secret server = pgc.client().secrets().inNamespace(ns).withName(cluster.getSpec().tls.serverSecret != null
            ? cluster.getSpec().tls.serverSecret : names.serverSecret()).get();
        String caPem = SecretValues.value(server, "ca.crt")
            .orElseThrow(() -> new Pgc.Failure("the server certificate's Secret has no ca.crt"));
        ca = Files.createTempFile("pgc-ca-", ".crt");
        Files.writeString(ca, caPem);
        conninfo.append(" host=").append(service).append('.').append(ns).append(".svc hostaddr=").append(address)
            .append(" sslmode=verify-full sslrootcert=").append(ca);
      } else {
        conninfo.append(" host=").append(address);
      }
      List<String> command = new ArrayList<>(List.of(psql, conninfo.toString()));
      command.addAll(psqlArgs);
      ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
      pb.environment().put("PGPASSWORD", password);  // never on the command line
      // Ctrl-C is psql's (it cancels the query): this process, in the same process group, stays.
      sun.misc.Signal.handle(new sun.misc.Signal("INT"), sun.misc.SignalHandler.SIG_IGN);
      return pb.start().waitFor();
    } finally {
      if (forward != null) {
        forward.close();
      }
      if (ca != null) {
        Files.deleteIfExists(ca);
      }
    }
  }

  private static boolean reachable(String address, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address, port), 1500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The program on the PATH, or in the newest Debian PostgreSQL directory; null when there is none. */
  static String findOnPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    try (var versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      return versions.map(v -> v.resolve("bin").resolve(program)).filter(Files::isExecutable)
          .max(java.util.Comparator.comparing(Path::toString)).map(Path::toString).orElse(null);
    } catch (IOException e) {
      return null;
    }
  }
}
