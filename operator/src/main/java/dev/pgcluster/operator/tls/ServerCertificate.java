package dev.pgcluster.operator.tls;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

/**
 * What a cluster's operator-issued server certificate covers and when it is issued again. Pure.
 */
public final class ServerCertificate {
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);
  public static final Duration VALIDITY = Duration.ofDays(365);
  /** Issued again this long before it expires. */
  public static final Duration RENEW_BEFORE = Duration.ofDays(30);

  private ServerCertificate() {}

  /**
   * The -rw, -ro and -r Services and the headless one, each as a short name, with its namespace, with
   * .svc and with .svc.cluster.local; each pod through the headless Service (a wildcard).
   */
  public static List<String> dnsNames(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    String ns = cluster.getMetadata().getNamespace();
    List<String> dns = new ArrayList<>();
    for (String service : List.of(names.readWriteService(), names.readOnlyService(), names.readAnyService(),
        names.headlessService())) {
      dns.add(service);
      dns.add(service + "." + ns);
      dns.add(service + "." + ns + ".svc");
      dns.add(service + "." + ns + ".svc.cluster.local");
    }
    dns.add("*." + names.headlessService() + "." + ns + ".svc");
    dns.add("*." + names.headlessService() + "." + ns + ".svc.cluster.local");
    return dns;
  }

  /** Why the certificate in place must be issued again; empty while it is fine. */
  public static Optional<String> reissueReason(String certificate, String privateKey, String ca, List<String> wanted,
      Instant now) {
    if (certificate == null || certificate.isBlank()) {
      return Optional.of("no server certificate yet");
    }
    try {
      // A key that is not the certificate's would never be served (the agents keep the last good pair).
      if (privateKey == null || !Certificates.keyMatches(certificate, privateKey)) {
        return Optional.of("the server key does not match the server certificate");
      }
      if (!Certificates.signedBy(certificate, ca)) {
        return Optional.of("the server certificate is not signed by the cluster's CA");
      }
      if (!new HashSet<>(Certificates.dnsNames(certificate)).equals(new HashSet<>(wanted))) {
        return Optional.of("the server certificate's names differ from the cluster's Services");
      }
      Instant notAfter = Certificates.notAfter(certificate);
      if (!now.isBefore(notAfter.minus(RENEW_BEFORE))) {
        return Optional.of("the server certificate expires at " + notAfter + " (issued again " + RENEW_BEFORE.toDays()
            + " days before)");
      }
      return Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.of("the server certificate is unreadable: " + e.getMessage());
    }
  }
}
