package dev.pgcluster.operator.observe;

import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/** A key of a Secret as text: from data (base64), else stringData (a Secret not yet read back from the API). */
public final class SecretValues {
  private SecretValues() {}

  public static Optional<String> value(Secret secret, String key) {
    if (secret == null) {
      return Optional.empty();
    }
    if (secret.getData() != null && secret.getData().get(key) != null) {
      return Optional.of(new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8));
    }
    return Optional.ofNullable(secret.getStringData() == null ? null : secret.getStringData().get(key));
  }

  public static boolean has(Secret secret, String key) {
    return value(secret, key).isPresent();
  }
}
