package dev.pgcluster.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pod's volumes as host directories: emptyDir and projected ConfigMap/Secret/downwardAPI content under
 * the pod's own directory (gone with the pod), PersistentVolumeClaims under the sandbox's volume
 * directory (they outlive pods, as PVs do). ConfigMap and Secret content is refreshed while the pod
 * runs, as the kubelet does.
 */
final class PodVolumes {
  /** A volume that cannot be mounted yet (missing ConfigMap, Secret or claim): the pod waits. */
  static final class NotReady extends Exception {
    NotReady(String message) {
      super(message);
    }
  }

  private final KubernetesClient client;
  private final HostUser user;
  private final Pod pod;
  private final Path podDirectory;
  private final Path claimsDirectory;
  private final Map<String, Path> hostDirectories = new HashMap<>();

  private final VolumeAttachments attachments;

  PodVolumes(KubernetesClient client, HostUser user, Pod pod, Path podDirectory, Path claimsDirectory,
      VolumeAttachments attachments) {
    this.client = client;
    this.attachments = attachments;
    this.user = user;
    this.pod = pod;
    this.podDirectory = podDirectory;
    this.claimsDirectory = claimsDirectory;
  }

  /** Creates or refreshes every volume; throws when one cannot be provided yet. */
  void prepare() throws IOException, NotReady {
    String ns = pod.getMetadata().getNamespace();
    List<Volume> volumes = pod.getSpec().getVolumes() == null ? List.of() : pod.getSpec().getVolumes();
    for (Volume v : volumes) {
      Path dir;
      if (v.getPersistentVolumeClaim() != null) {
        String claim = v.getPersistentVolumeClaim().getClaimName();
        if (client.persistentVolumeClaims().inNamespace(ns).withName(claim).get() == null) {
          throw new NotReady("persistentvolumeclaim \"" + claim + "\" not found");
        }
        dir = claimsDirectory.resolve(ns).resolve(claim);
        attachments.attach(dir, pod.getMetadata().getUid(), ns + "/" + pod.getMetadata().getName());
        if (!Files.isDirectory(dir)) {
          Files.createDirectories(dir);
          user.handOver(dir);
        }
      } else if (v.getEmptyDir() != null) {
        dir = podDirectory.resolve("volumes").resolve(v.getName());
        if (!Files.isDirectory(dir)) {
          Files.createDirectories(dir);
          user.handOver(dir);
        }
      } else if (v.getConfigMap() != null) {
        dir = projected(v.getName(), select(configMapData(v.getConfigMap().getName(), v.getConfigMap().getOptional()),
            v.getConfigMap().getItems()));
      } else if (v.getSecret() != null) {
        dir = projected(v.getName(), select(secretData(v.getSecret().getSecretName(), v.getSecret().getOptional()),
            v.getSecret().getItems()));
        // The files' mode, as a kubelet sets it (pgBackRest refuses a key that others may read).
        if (v.getSecret().getDefaultMode() != null) {
          fileMode(dir, v.getSecret().getDefaultMode());
        }
      } else if (v.getDownwardAPI() != null) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        v.getDownwardAPI().getItems().forEach(item -> files.put(item.getPath(),
            EnvResolver.field(pod, item.getFieldRef().getFieldPath()).getBytes(StandardCharsets.UTF_8)));
        dir = projected(v.getName(), files);
      } else if (v.getProjected() != null) {
        dir = projected(v.getName(), projectedSources(v.getProjected()));
      } else {
        throw new NotReady("volume \"" + v.getName() + "\": only persistentVolumeClaim, emptyDir, configMap, "
            + "secret, downwardAPI and projected volumes exist in the sandbox");
      }
      hostDirectories.put(v.getName(), dir);
    }
  }

  /** The container's view: each mountPath (with subPath) to its host directory. */
  PathMapper mapperFor(Container container) throws NotReady {
    Map<String, Path> mounts = new LinkedHashMap<>();
    List<VolumeMount> list = container.getVolumeMounts() == null ? List.of() : container.getVolumeMounts();
    for (VolumeMount m : list) {
      Path host = hostDirectories.get(m.getName());
      if (host == null) {
        throw new NotReady("container " + container.getName() + " mounts unknown volume " + m.getName());
      }
      if (m.getSubPath() != null && !m.getSubPath().isEmpty()) {
        host = host.resolve(m.getSubPath());
      }
      mounts.put(m.getMountPath(), host);
    }
    // The termination message file, which a kubelet mounts into every container.
    mounts.put(terminationMessagePath(container), terminationMessageFile(container));
    return new PathMapper(mounts);
  }

  static String terminationMessagePath(Container container) {
    return container.getTerminationMessagePath() == null ? "/dev/termination-log"
        : container.getTerminationMessagePath();
  }

  /**
   * Where the container's termination message lands on the host: emptied for each start of the
   * container (a mapper is made per start), writable by the pod's user.
   */
  Path terminationMessageFile(Container container) {
    Path file = podDirectory.resolve("termination").resolve(container.getName());
    try {
      if (Files.exists(file)) {
        Files.write(file, new byte[0]);
      } else {
        Files.createDirectories(file.getParent());
        user.handOver(file.getParent());
        Files.createFile(file);
        user.handOver(file);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return file;
  }

  /** What the container wrote there, as the kubelet reports it: at most 4096 bytes, null when nothing. */
  String terminationMessage(Container container) {
    Path file = podDirectory.resolve("termination").resolve(container.getName());
    try {
      if (!Files.exists(file) || Files.size(file) == 0) {
        return null;
      }
      byte[] bytes = Files.readAllBytes(file);
      return new String(bytes, 0, Math.min(bytes.length, 4096), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return null;
    }
  }

  /** Writes {@code files} (path -> content) into the volume's directory, removing files no longer there. */
  private static void fileMode(Path dir, int mode) throws IOException {
    java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions =
        java.util.EnumSet.noneOf(java.nio.file.attribute.PosixFilePermission.class);
    java.nio.file.attribute.PosixFilePermission[] bits = {
        java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE, java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE,
        java.nio.file.attribute.PosixFilePermission.OTHERS_READ, java.nio.file.attribute.PosixFilePermission.GROUP_EXECUTE,
        java.nio.file.attribute.PosixFilePermission.GROUP_WRITE, java.nio.file.attribute.PosixFilePermission.GROUP_READ,
        java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
        java.nio.file.attribute.PosixFilePermission.OWNER_READ};
    for (int i = 0; i < bits.length; i++) {
      if ((mode & (1 << i)) != 0) {
        permissions.add(bits[i]);
      }
    }
    try (var files = Files.walk(dir)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        Files.setPosixFilePermissions(p, permissions);
      }
    }
  }

  private Path projected(String name, Map<String, byte[]> files) throws IOException {
    Path dir = podDirectory.resolve("volumes").resolve(name);
    Files.createDirectories(dir);
    for (var file : files.entrySet()) {
      Path target = dir.resolve(file.getKey());
      if (Files.exists(target) && Arrays.equals(Files.readAllBytes(target), file.getValue())) {
        continue;
      }
      Files.createDirectories(target.getParent());
      Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
      Files.write(tmp, file.getValue());
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    try (var existing = Files.list(dir)) {
      for (Path p : existing.toList()) {
        if (Files.isRegularFile(p) && !files.containsKey(p.getFileName().toString())) {
          Files.delete(p);
        }
      }
    }
    user.handOverTree(dir);
    return dir;
  }

  /**
   * A projected volume, notably the service-account one the API server's admission adds to every pod
   * (kube-api-access-*): a token from the TokenRequest API bound to this pod, the cluster CA from the
   * kube-root-ca.crt ConfigMap and the namespace. The token is requested once per pod start (it lives an
   * hour by default, longer than any sandbox run needs; a real kubelet renews it at 80%).
   */
  private Map<String, byte[]> projectedSources(io.fabric8.kubernetes.api.model.ProjectedVolumeSource projected)
      throws NotReady {
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (var source : projected.getSources()) {
      if (source.getServiceAccountToken() != null) {
        if (token == null) {
          token = requestToken(source.getServiceAccountToken());
        }
        files.put(source.getServiceAccountToken().getPath(), token.getBytes(StandardCharsets.UTF_8));
      } else if (source.getConfigMap() != null) {
        files.putAll(select(configMapData(source.getConfigMap().getName(), source.getConfigMap().getOptional()),
            source.getConfigMap().getItems()));
      } else if (source.getSecret() != null) {
        files.putAll(select(secretData(source.getSecret().getName(), source.getSecret().getOptional()),
            source.getSecret().getItems()));
      } else if (source.getDownwardAPI() != null) {
        source.getDownwardAPI().getItems().forEach(item -> files.put(item.getPath(),
            EnvResolver.field(pod, item.getFieldRef().getFieldPath()).getBytes(StandardCharsets.UTF_8)));
      }
    }
    return files;
  }

  private String token;

  /** A ConfigMap's data; empty for a missing optional one, NotReady for a missing required one. */
  private Map<String, byte[]> configMapData(String name, Boolean optional) throws NotReady {
    ConfigMap map = client.configMaps().inNamespace(pod.getMetadata().getNamespace()).withName(name).get();
    if (map == null && !Boolean.TRUE.equals(optional)) {
      throw new NotReady("configmap \"" + name + "\" not found");
    }
    return map == null ? Map.of() : text(map.getData());
  }

  /** A Secret's data, decoded; empty for a missing optional one, NotReady for a missing required one. */
  private Map<String, byte[]> secretData(String name, Boolean optional) throws NotReady {
    Secret secret = client.secrets().inNamespace(pod.getMetadata().getNamespace()).withName(name).get();
    if (secret == null && !Boolean.TRUE.equals(optional)) {
      throw new NotReady("secret \"" + name + "\" not found");
    }
    return secret == null ? Map.of() : EnvResolver.secretData(secret);
  }

  private String requestToken(io.fabric8.kubernetes.api.model.ServiceAccountTokenProjection projection)
      throws NotReady {
    String account = pod.getSpec().getServiceAccountName() == null ? "default" : pod.getSpec().getServiceAccountName();
    var request = new io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder()
        .withNewSpec()
        .withAudiences(projection.getAudience() == null ? List.of() : List.of(projection.getAudience()))
        .withExpirationSeconds(projection.getExpirationSeconds() == null ? 3607L : projection.getExpirationSeconds())
        .withNewBoundObjectRef().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName())
        .withUid(pod.getMetadata().getUid()).endBoundObjectRef()
        .endSpec().build();
    try {
      return client.serviceAccounts().inNamespace(pod.getMetadata().getNamespace()).withName(account)
          .tokenRequest(request).getStatus().getToken();
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      throw new NotReady("token for service account " + account + ": " + e.getMessage());
    }
  }

  /** The files of a ConfigMap or Secret volume: every key, or only the listed items under their paths. */
  private static Map<String, byte[]> select(Map<String, byte[]> data, List<KeyToPath> items) {
    if (items == null || items.isEmpty()) {
      return data;
    }
    Map<String, byte[]> out = new LinkedHashMap<>();
    items.stream().filter(i -> data.containsKey(i.getKey())).forEach(i -> out.put(i.getPath(), data.get(i.getKey())));
    return out;
  }

  private static Map<String, byte[]> text(Map<String, String> data) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    if (data != null) {
      data.forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

}
