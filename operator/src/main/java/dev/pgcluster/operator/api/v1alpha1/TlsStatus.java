package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** The certificates the instances serve (spec.tls.enabled). */
public class TlsStatus {
  @JsonPropertyDescription("The Secret with the server certificate: the operator's <name>-server or spec.tls.serverSecret.")
  public String serverSecret;

  @JsonPropertyDescription("When the server certificate expires (RFC 3339). The operator issues its own again 30 days"
      + " before; one of spec.tls.serverSecret is its issuer's to renew.")
  public String serverCertificateNotAfter;

  @JsonPropertyDescription("When the certificate authority clients verify with expires (RFC 3339).")
  public String caNotAfter;
}
