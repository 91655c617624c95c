package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.Labels;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "report", description = "A support bundle as a zip: the PgCluster, its status, its events, its"
    + " pods, StatefulSet, Services, ConfigMaps, claims, primary Lease, the names and keys of its Secrets (never"
    + " their values) and the logs of every container, the operator's included.")
final class ReportCommand implements Callable<Integer> {
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  @ParentCommand
  Pgc pgc;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The PgCluster.")
  String name;

  @Option(names = {"-f", "--file"}, description = "Where to write it (default: report-NAME-<time>.zip here).")
  Path file;

  @Option(names = "--tail", defaultValue = "10000", description = "Log lines per container (default 10000).")
  int tail;

  @Override
  public Integer call() throws IOException {
    PgCluster cluster = pgc.cluster(name);
    KubernetesClient client = pgc.client();
    String ns = pgc.namespace();
    PgClusterNames names = PgClusterNames.of(cluster);
    Path target = file != null ? file : Path.of("report-" + name + "-" + STAMP.format(Instant.now()) + ".zip");
    List<Pod> pods = LogsCommand.instancePods(client, ns, name);
    // What belongs to this cluster, by exact name: another cluster whose name starts alike is not in it.
    java.util.Set<String> ownNames = new java.util.HashSet<>(List.of(name, names.statefulSet(), names.readWriteService(),
        names.readOnlyService(), names.readAnyService(), names.headlessService(), names.pooler(), names.poolerReadOnly(),
        names.poolerService(), names.primaryLease(), names.podDisruptionBudget(), names.configMap(),
        names.topologyConfigMap()));
    pods.forEach(p -> ownNames.add(p.getMetadata().getName()));
    var bootstrap = cluster.getSpec().bootstrap;
    java.util.Set<String> secretNames = new java.util.TreeSet<>(List.of(names.superuserSecret(), names.replicationSecret(),
        names.appSecret(), names.caSecret(), names.serverSecret(), names.pooler()));
    if (bootstrap != null && bootstrap.superuserSecret != null) {
      secretNames.add(bootstrap.superuserSecret);
    }
    if (bootstrap != null && bootstrap.ownerSecret != null) {
      secretNames.add(bootstrap.ownerSecret);
    }
    if (cluster.getSpec().tls != null && cluster.getSpec().tls.serverSecret != null) {
      secretNames.add(cluster.getSpec().tls.serverSecret);
    }
    int entries = 0;
    // Only its owner reads it: it holds logs and the cluster's layout (no Secret value).
    Files.deleteIfExists(target);
    Files.createFile(target, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    try (OutputStream stream = Files.newOutputStream(target); ZipOutputStream zip = new ZipOutputStream(stream)) {
      entries += put(zip, "pgcluster.yaml", () -> Serialization.asYaml(cluster));
      entries += put(zip, "status.txt", () -> new StatusView(false).text(cluster));
      entries += put(zip, "events.yaml", () -> Serialization.asYaml(client.v1().events().inNamespace(ns).list().getItems()
          .stream().filter(e -> e.getInvolvedObject() != null && ownNames.contains(e.getInvolvedObject().getName()))
          .sorted(java.util.Comparator.comparing(e -> Objects.toString(e.getLastTimestamp(), ""))).toList()));
      entries += put(zip, "pods.yaml", () -> Serialization.asYaml(pods));
      entries += put(zip, "statefulset.yaml",
          () -> yaml(client.apps().statefulSets().inNamespace(ns).withName(names.statefulSet()).get()));
      entries += put(zip, "services.yaml", () -> Serialization.asYaml(owned(client.services().inNamespace(ns).list()
          .getItems(), cluster)));
      entries += put(zip, "configmaps.yaml", () -> Serialization.asYaml(owned(client.configMaps().inNamespace(ns).list()
          .getItems(), cluster)));
      entries += put(zip, "deployments.yaml", () -> Serialization.asYaml(owned(client.apps().deployments().inNamespace(ns)
          .list().getItems(), cluster)));
      entries += put(zip, "persistentvolumeclaims.yaml", () -> Serialization.asYaml(client.persistentVolumeClaims()
          .inNamespace(ns).withLabel(Labels.CLUSTER, name).list().getItems()));
      entries += put(zip, "primary-lease.yaml",
          () -> yaml(client.leases().inNamespace(ns).withName(names.primaryLease()).get()));
      entries += put(zip, "secrets.txt", () -> {
        StringBuilder secrets = new StringBuilder("# Names and keys only: no value leaves the cluster in a report.\n");
        for (String secretName : secretNames) {
          var secret = client.secrets().inNamespace(ns).withName(secretName).get();
          secrets.append(secretName).append(": ").append(secret == null ? "(absent)" : secret.getData() == null ? "[]"
              : new TreeMap<>(secret.getData()).keySet()).append('\n');
        }
        return secrets.toString();
      });
      for (Pod p : pods) {
        for (String c : LogsCommand.containers(p)) {
          entries += put(zip, "logs/" + p.getMetadata().getName() + "/" + c + ".log",
              () -> log(client, ns, p.getMetadata().getName(), c));
        }
      }
      for (var pooler : List.of(dev.pgcluster.operator.render.PoolerRenderer.Target.values())) {
        List<Pod> poolers;
        try {
          poolers = client.pods().inNamespace(ns).withLabels(dev.pgcluster.operator.render.PoolerRenderer.podSelector(
              cluster, pooler)).list().getItems();
        } catch (KubernetesClientException e) {
          poolers = List.of();
        }
        for (Pod p : poolers) {
          for (String c : LogsCommand.containers(p)) {
            entries += put(zip, "logs/" + p.getMetadata().getName() + "/" + c + ".log",
                () -> log(client, ns, p.getMetadata().getName(), c));
          }
        }
      }
      List<Pod> operators;
      try {
        operators = client.pods().inAnyNamespace().withLabel("app.kubernetes.io/name", "pgcluster-operator").list()
            .getItems();
      } catch (KubernetesClientException e) {
        operators = List.of();
        entries += put(zip, "operator/NOT-COLLECTED.txt", () -> "the operator's pods could not be listed: "
            + e.getMessage() + "\n");
      }
      for (Pod op : operators) {
        for (String c : LogsCommand.containers(op)) {
          entries += put(zip, "operator/" + op.getMetadata().getNamespace() + "/" + op.getMetadata().getName() + "/" + c
              + ".log", () -> log(client, op.getMetadata().getNamespace(), op.getMetadata().getName(), c));
        }
      }
    }
    spec.commandLine().getOut().println("report of " + ns + "/" + name + " written to " + target + " (" + entries
        + " files; Secrets by name and key only)");
    return 0;
  }

  private String log(KubernetesClient client, String ns, String pod, String container) {
    try {
      return client.pods().inNamespace(ns).withName(pod).inContainer(container).tailingLines(tail).getLog();
    } catch (KubernetesClientException e) {
      return "(no log: " + e.getMessage() + ")\n";
    }
  }

  private static <T extends HasMetadata> List<T> owned(List<T> items, PgCluster cluster) {
    return items.stream().filter(i -> i.getMetadata().getOwnerReferences() != null && i.getMetadata()
        .getOwnerReferences().stream().anyMatch(o -> Objects.equals(o.getUid(), cluster.getMetadata().getUid())))
        .toList();
  }

  private static String yaml(Object o) {
    return o == null ? "# not found\n" : Serialization.asYaml(o);
  }

  /** One file of the bundle; what cannot be collected (no permission, say) becomes a note in its place. */
  private static int put(ZipOutputStream zip, String name, java.util.function.Supplier<String> content)
      throws IOException {
    String text;
    try {
      text = content.get();
    } catch (KubernetesClientException e) {
      text = "# not collected: " + e.getMessage() + "\n";
    }
    zip.putNextEntry(new ZipEntry(name));
    zip.write(text.getBytes(StandardCharsets.UTF_8));
    zip.closeEntry();
    return 1;
  }
}
