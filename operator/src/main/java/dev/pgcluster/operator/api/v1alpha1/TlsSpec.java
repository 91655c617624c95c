package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * TLS for client and replication connections. The operator keeps a certificate authority per cluster
 * and issues the server certificate, unless the user names a Secret of their own (cert-manager).
 */
@ValidationRule(value = "!has(self.required) || !self.required || !has(self.enabled) || self.enabled",
    message = "tls.required needs tls.enabled")
public class TlsSpec {

  @Default("false")
  @JsonPropertyDescription("Serve TLS on every instance (ssl = on); standbys replicate over TLS, verifying the"
      + " primary's certificate (sslmode=verify-full).")
  public Boolean enabled = false;

  @Default("false")
  @JsonPropertyDescription("Refuse connections without TLS (pg_hba hostssl), replication included.")
  public Boolean required = false;

  @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
  @JsonPropertyDescription("A kubernetes.io/tls Secret (tls.crt, tls.key, and ca.crt for the chain) to serve instead"
      + " of the operator-issued certificate, for example one cert-manager keeps; its names must cover the -rw, -ro"
      + " and -r Services. Empty: the operator's CA issues it.")
  public String serverSecret;

  /** Whether the spec asks for TLS. */
  public static boolean enabled(PgClusterSpec spec) {
    return spec.tls != null && Boolean.TRUE.equals(spec.tls.enabled);
  }
}
