package dev.pgcluster.operator.reconcile;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * "Make it so" for rendered objects: create when absent; otherwise copy only the fields the operator
 * owns onto the live object and update it with the live resourceVersion (a conflict surfaces as a 409
 * and the reconcile is retried). Fields set by others (a Service's clusterIP, defaults, other labels)
 * survive. Writes nothing when the object already matches.
 */
public final class ResourceApplier {
  private static final Logger LOG = LoggerFactory.getLogger(ResourceApplier.class);

  /** Hash of the rendered object, to tell a spec change from API-server defaulting. */
  public static final String RENDERED_HASH = "pgcluster.dev/rendered-hash";

  public enum Outcome { CREATED, UPDATED, UNCHANGED }

  private final KubernetesClient client;
  private final KubernetesSerialization serialization;

  public ResourceApplier(KubernetesClient client) {
    this.client = client;
    this.serialization = client.getKubernetesSerialization();
  }

  /** Creates the object only if it does not exist; never touches an existing one (generated secrets). */
  public <T extends HasMetadata> Outcome createIfAbsent(T desired) {
    if (client.resource(desired).get() != null) {
      return Outcome.UNCHANGED;
    }
    client.resource(desired).create();
    LOG.info("created {} {}", desired.getKind(), desired.getMetadata().getName());
    return Outcome.CREATED;
  }

  /**
   * @param copyOwned copies the operator-owned fields from the desired object (second argument) onto
   *     a copy of the live one (first argument)
   */
  @SuppressWarnings("unchecked")
  public <T extends HasMetadata> Outcome apply(T desired, BiConsumer<T, T> copyOwned) {
    T live = client.resource(desired).get();
    if (live == null) {
      stampHash(desired);
      client.resource(desired).create();
      LOG.info("created {} {}", desired.getKind(), desired.getMetadata().getName());
      return Outcome.CREATED;
    }
    String hash = renderedHash(desired);
    if (hash.equals(annotation(live))) {
      return Outcome.UNCHANGED;
    }
    T merged = (T) serialization.clone(live);
    copyMetadata(merged, desired);
    copyOwned.accept(merged, desired);
    merged.getMetadata().getAnnotations().put(RENDERED_HASH, hash);
    client.resource(merged).update();
    LOG.info("updated {} {} to match the spec", desired.getKind(), desired.getMetadata().getName());
    return Outcome.UPDATED;
  }

  /**
   * The API server adds defaults to what it stores, so comparing live objects with rendered ones would
   * see a difference every time. Instead the hash of what was rendered is kept in an annotation.
   */
  String renderedHash(HasMetadata desired) {
    HasMetadata copy = serialization.clone(desired);
    if (copy.getMetadata().getAnnotations() != null) {
      copy.getMetadata().getAnnotations().remove(RENDERED_HASH);
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(serialization.asJson(copy).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void stampHash(HasMetadata desired) {
    String hash = renderedHash(desired);
    if (desired.getMetadata().getAnnotations() == null) {
      desired.getMetadata().setAnnotations(new HashMap<>());
    }
    desired.getMetadata().getAnnotations().put(RENDERED_HASH, hash);
  }

  private static String annotation(HasMetadata live) {
    return live.getMetadata().getAnnotations() == null ? null : live.getMetadata().getAnnotations().get(RENDERED_HASH);
  }

  private static void copyMetadata(HasMetadata target, HasMetadata desired) {
    if (target.getMetadata().getLabels() == null) {
      target.getMetadata().setLabels(new HashMap<>());
    }
    target.getMetadata().getLabels().putAll(desired.getMetadata().getLabels());
    target.getMetadata().setOwnerReferences(desired.getMetadata().getOwnerReferences());
    if (target.getMetadata().getAnnotations() == null) {
      target.getMetadata().setAnnotations(new HashMap<>());
    }
    // Added, not replaced: others annotate objects too. An annotation removed from the spec stays.
    if (desired.getMetadata().getAnnotations() != null) {
      target.getMetadata().getAnnotations().putAll(desired.getMetadata().getAnnotations());
    }
  }
}
