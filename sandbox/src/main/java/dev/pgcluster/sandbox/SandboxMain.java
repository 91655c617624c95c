package dev.pgcluster.sandbox;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;

/**
 * The "try it" command: sandbox, operator, one PgCluster, progress until Ready, then psql-ready
 * connection strings. Runs until Ctrl-C (or, with --exit-when-ready, stops once Ready).
 */
public final class SandboxMain {
  static final String DEFAULT_MANIFEST = "examples/pgcluster-async.yaml";

  record Options(Path manifest, String namespace, Path keep, boolean exitWhenReady, Duration timeout) {
    static Options parse(String[] args) {
      Path manifest = Path.of(DEFAULT_MANIFEST);
      String namespace = "default";
      Path keep = null;
      boolean exit = false;
      Duration timeout = Duration.ofMinutes(5);
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--namespace", "-n" -> namespace = value(args, ++i);
          case "--keep" -> keep = Path.of(value(args, ++i));
          case "--exit-when-ready" -> exit = true;
          case "--timeout-seconds" -> timeout = Duration.ofSeconds(Long.parseLong(value(args, ++i)));
          case "--help", "-h" -> throw new IllegalArgumentException("");
          default -> {
            if (args[i].startsWith("-")) {
              throw new IllegalArgumentException("unknown option " + args[i]);
            }
            manifest = Path.of(args[i]);
          }
        }
      }
      return new Options(manifest, namespace, keep, exit, timeout);
    }

    private static String value(String[] args, int i) {
      if (i >= args.length) {
        throw new IllegalArgumentException(args[i - 1] + " needs a value");
      }
      return args[i];
    }
  }

  public static void main(String[] args) throws Exception {
    System.exit(run(args, System.out));
  }

  /** Returns the process exit code: 0 ready (or stopped by Ctrl-C after ready), 1 not ready, 2 usage. */
  static int run(String[] args, PrintStream out) throws Exception {
    if (args.length > 0 && args[0].equals("scenario")) {
      return dev.pgcluster.sandbox.scenario.Scenarios.main(java.util.Arrays.asList(args).subList(1, args.length), out);
    }
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      if (!e.getMessage().isEmpty()) {
        out.println("error: " + e.getMessage());
      }
      out.println("usage: bin/pgcluster-sandbox [manifest.yaml] [--namespace NS] [--keep DIR] [--exit-when-ready]"
          + " [--timeout-seconds N]\n       bin/pgcluster-sandbox scenario NAME   (a seed's walkthrough; without NAME: the list)");
      return 2;
    }
    if (!Files.isRegularFile(options.manifest())) {
      out.println("error: no manifest at " + options.manifest().toAbsolutePath());
      return 2;
    }
    Sandbox sandbox;
    try {
      sandbox = options.keep() == null ? Sandbox.start() : Sandbox.start(options.keep());
    } catch (IllegalArgumentException e) {
      out.println("error: " + e.getMessage());
      return 2;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      out.println("\nstopping the sandbox: operator, pods, proxies, control plane...");
      sandbox.close();
      stopped.countDown();
    }, "sandbox-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      sandbox.installOperator();
      PgCluster cluster;
      try {
        String manifest = Files.readString(options.manifest());
        if (manifest.contains("\n  backup:")) {
          // The sandbox's own S3 server, and the Secret the examples name for it.
          sandbox.ensureNamespace(options.namespace());
          sandbox.client().secrets().inNamespace(options.namespace())
              .resource(sandbox.objectStore().credentialsSecret(options.namespace(), "backup-store")).createOr(s -> s.update());
          out.printf("object store: https://%s (bucket %s), credentials and CA in Secret %s/backup-store%n",
              dev.pgcluster.sandbox.objectstore.ObjectStore.ENDPOINT, dev.pgcluster.sandbox.objectstore.ObjectStore.BUCKET,
              options.namespace());
        }
        cluster = sandbox.apply(options.namespace(), manifest);
      } catch (KubernetesClientException | IllegalArgumentException e) {
        out.println("error: the API server rejected " + options.manifest() + ": " + e.getMessage());
        return 1;
      }
      String name = cluster.getMetadata().getName();
      out.printf("applied PgCluster %s/%s from %s; waiting for it to become Ready%n", options.namespace(), name,
          options.manifest());
      boolean ready = awaitReady(sandbox, options, name, out);
      if (!ready) {
        out.println("the cluster did not become Ready within " + options.timeout().toSeconds() + " s; pod logs are in "
            + sandbox.root().resolve("pods"));
        return 1;
      }
      printConnections(sandbox, options.namespace(), name, out);
      if (options.exitWhenReady()) {
        return 0;
      }
      out.println("\nPress Ctrl-C to stop everything.");
      stopped.await();
      return 0;
    } finally {
      if (options.exitWhenReady() || stopped.getCount() > 0) {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
          sandbox.close();
        } catch (IllegalStateException e) {
          // Already shutting down: the hook closes the sandbox.
        }
      }
    }
  }

  private static boolean awaitReady(Sandbox sandbox, Options options, String name, PrintStream out)
      throws InterruptedException {
    long deadline = System.nanoTime() + options.timeout().toNanos();
    String last = null;
    while (System.nanoTime() < deadline) {
      PgCluster c = sandbox.client().resources(PgCluster.class).inNamespace(options.namespace()).withName(name).get();
      if (c != null && c.getStatus() != null) {
        var ready = c.getStatus().conditions.stream().filter(x -> "Ready".equals(x.getType())).findFirst();
        String line = String.format("  phase %s, %d/%d instances ready, primary %s%s",
            c.getStatus().phase, c.getStatus().readyInstances == null ? 0 : c.getStatus().readyInstances,
            c.getSpec().instances, c.getStatus().currentPrimary,
            ready.map(r -> " - " + r.getReason() + ": " + r.getMessage()).orElse(""));
        if (!Objects.equals(line, last)) {
          out.println(line);
          last = line;
        }
        if (c.getStatus().phase == ClusterPhase.Healthy) {
          return true;
        }
        if (c.getStatus().phase == ClusterPhase.Invalid) {
          return false;
        }
      }
      Thread.sleep(500);
    }
    return false;
  }

  private static void printConnections(Sandbox sandbox, String ns, String name, PrintStream out) {
    PgClusterNames names = PgClusterNames.of(name);
    PgCluster cluster = sandbox.client().resources(PgCluster.class).inNamespace(ns).withName(name).get();
    String db = cluster.getSpec().bootstrap.database;
    String owner = cluster.getSpec().bootstrap.owner;
    String app = password(sandbox, ns, names.appSecret());
    String su = password(sandbox, ns, names.superuserSecret());
    out.println("\nPgCluster " + ns + "/" + name + " is Ready.");
    out.printf("  read-write: psql \"host=%s port=5432 dbname=%s user=%s password=%s\"%n",
        sandbox.serviceAddress(ns, names.readWriteService()), db, owner, app);
    out.printf("  read-only:  psql \"host=%s port=5432 dbname=%s user=%s password=%s\"%n",
        sandbox.serviceAddress(ns, names.readOnlyService()), db, owner, app);
    out.printf("  superuser:  psql \"host=%s port=5432 dbname=postgres user=postgres password=%s\"%n",
        sandbox.serviceAddress(ns, names.readWriteService()), su);
    if (cluster.getSpec().tls != null && Boolean.TRUE.equals(cluster.getSpec().tls.enabled)) {
      // libpq checks the certificate against host= while it connects to hostaddr=, as a client in the
      // cluster that resolves the Service name does.
      Path ca = sandbox.root().resolve(name + "-ca.crt");
      try {
        Files.writeString(ca, secretKey(sandbox, ns, names.appSecret(), "ca.crt"));
        out.printf("  verified:   psql \"host=%s.%s.svc hostaddr=%s port=5432 dbname=%s user=%s password=%s"
            + " sslmode=verify-full sslrootcert=%s\"%n", names.readWriteService(), ns,
            sandbox.serviceAddress(ns, names.readWriteService()), db, owner, app, ca);
      } catch (java.io.IOException | RuntimeException e) {
        out.println("  verified:   (the CA could not be written: " + e.getMessage() + ")");
      }
    }
    if (cluster.getSpec().pooler != null) {
      out.printf("  pooled:     psql \"host=%s port=5432 dbname=%s user=%s password=%s\"%n",
          sandbox.serviceAddress(ns, names.poolerService()), db, owner, app);
      if (cluster.getSpec().pooler.readOnlyInstances() > 0) {
        out.printf("  pooled reads (standbys): psql \"host=%s port=5432 dbname=%s user=%s password=%s\"%n",
            sandbox.serviceAddress(ns, names.poolerReadOnly()), db, owner, app);
      }
      out.printf("  pooler admin (SHOW POOLS): psql \"host=%s port=5432 dbname=pgbouncer user=%s password=%s\"%n",
          sandbox.serviceAddress(ns, names.poolerService()), PgClusterNames.POOLER_USER,
          password(sandbox, ns, names.pooler()));
    }
    out.println("  kubectl:    " + KubeTools.tool("KUBECTL") + " --kubeconfig " + sandbox.kubeconfig() + " get pgc,pods -A");
    out.println("  pod logs:   " + sandbox.root().resolve("pods"));
  }

  private static String password(Sandbox sandbox, String ns, String secret) {
    return secretKey(sandbox, ns, secret, "password");
  }

  private static String secretKey(Sandbox sandbox, String ns, String secret, String key) {
    Secret s = sandbox.client().secrets().inNamespace(ns).withName(secret).get();
    return new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.UTF_8);
  }

  private SandboxMain() {}
}
