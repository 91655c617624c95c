package dev.pgcluster.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A container's environment as the kubelet computes it, including {@code $(VAR)} references. */
final class EnvResolver {
  private static final Pattern REFERENCE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)|\\$\\$");

  private EnvResolver() {}

  /** Throws {@link PodVolumes.NotReady} for a missing Secret/ConfigMap key (CreateContainerConfigError). */
  static Map<String, String> resolve(KubernetesClient client, Pod pod, Container container)
      throws PodVolumes.NotReady {
    String ns = pod.getMetadata().getNamespace();
    Map<String, String> env = new LinkedHashMap<>();
    if (container.getEnvFrom() != null) {
      for (EnvFromSource from : container.getEnvFrom()) {
        String prefix = from.getPrefix() == null ? "" : from.getPrefix();
        if (from.getConfigMapRef() != null) {
          ConfigMap map = client.configMaps().inNamespace(ns).withName(from.getConfigMapRef().getName()).get();
          if (map == null) {
            throw new PodVolumes.NotReady("configmap \"" + from.getConfigMapRef().getName() + "\" not found");
          }
          map.getData().forEach((k, v) -> env.put(prefix + k, v));
        }
        if (from.getSecretRef() != null) {
          Secret secret = client.secrets().inNamespace(ns).withName(from.getSecretRef().getName()).get();
          if (secret == null) {
            throw new PodVolumes.NotReady("secret \"" + from.getSecretRef().getName() + "\" not found");
          }
          secretData(secret).forEach((k, v) -> env.put(prefix + k, new String(v, StandardCharsets.UTF_8)));
        }
      }
    }
    if (container.getEnv() != null) {
      for (EnvVar var : container.getEnv()) {
        String value = var.getValueFrom() == null ? expand(var.getValue(), env) : valueFrom(client, pod, var);
        if (value != null) {
          env.put(var.getName(), value);
        }
      }
    }
    return env;
  }

  static String expand(String value, Map<String, String> env) {
    if (value == null) {
      return "";
    }
    Matcher m = REFERENCE.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement = m.group(1) == null ? "$" : env.getOrDefault(m.group(1), m.group());
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static String valueFrom(KubernetesClient client, Pod pod, EnvVar var) throws PodVolumes.NotReady {
    String ns = pod.getMetadata().getNamespace();
    EnvVarSource source = var.getValueFrom();
    if (source.getFieldRef() != null) {
      return field(pod, source.getFieldRef().getFieldPath());
    }
    if (source.getSecretKeyRef() != null) {
      var ref = source.getSecretKeyRef();
      Secret secret = client.secrets().inNamespace(ns).withName(ref.getName()).get();
      byte[] value = secret == null ? null : secretData(secret).get(ref.getKey());
      if (value == null) {
        if (Boolean.TRUE.equals(ref.getOptional())) {
          return null;
        }
        throw new PodVolumes.NotReady("env " + var.getName() + ": secret \"" + ref.getName() + "\" has no key "
            + ref.getKey());
      }
      return new String(value, StandardCharsets.UTF_8);
    }
    if (source.getConfigMapKeyRef() != null) {
      var ref = source.getConfigMapKeyRef();
      ConfigMap map = client.configMaps().inNamespace(ns).withName(ref.getName()).get();
      String value = map == null || map.getData() == null ? null : map.getData().get(ref.getKey());
      if (value == null) {
        if (Boolean.TRUE.equals(ref.getOptional())) {
          return null;
        }
        throw new PodVolumes.NotReady("env " + var.getName() + ": configmap \"" + ref.getName() + "\" has no key "
            + ref.getKey());
      }
      return value;
    }
    return null;
  }

  /** The downward API fields a pod can ask for. */
  static String field(Pod pod, String path) {
    return switch (path) {
      case "metadata.name" -> pod.getMetadata().getName();
      case "metadata.namespace" -> pod.getMetadata().getNamespace();
      case "metadata.uid" -> pod.getMetadata().getUid();
      case "spec.nodeName" -> pod.getSpec().getNodeName();
      case "spec.serviceAccountName" -> pod.getSpec().getServiceAccountName();
      case "status.podIP" -> pod.getStatus() == null ? "" : pod.getStatus().getPodIP();
      case "status.hostIP" -> pod.getStatus() == null ? "" : pod.getStatus().getHostIP();
      default -> {
        Matcher label = Pattern.compile("metadata\\.(labels|annotations)\\['(.+)'\\]").matcher(path);
        if (label.matches()) {
          Map<String, String> map = label.group(1).equals("labels") ? pod.getMetadata().getLabels()
              : pod.getMetadata().getAnnotations();
          yield map == null ? "" : map.getOrDefault(label.group(2), "");
        }
        yield "";
      }
    };
  }

  static Map<String, byte[]> secretData(Secret secret) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    if (secret.getData() != null) {
      secret.getData().forEach((k, v) -> out.put(k, Base64.getDecoder().decode(v)));
    }
    if (secret.getStringData() != null) {
      secret.getStringData().forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }
}
