package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.TlsSpec;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.Owned;
import dev.pgcluster.operator.tls.Certificates;
import dev.pgcluster.operator.tls.ServerCertificate;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS Secrets of a cluster with spec.tls.enabled: its CA (created once, kept with the data like the
 * credentials, so that clients keep trusting it across a re-apply), the server certificate it issues
 * (again when the Services' names change or 30 days before it expires), and the CA certificate and a
 * verify-full URI in the operator-generated app Secret.
 */
final class TlsSecrets {
  private static final Logger LOG = LoggerFactory.getLogger(TlsSecrets.class);
  static final String CA_CERT = "ca.crt";
  static final String CA_KEY = "ca.key";

  private final KubernetesClient client;
  private final EventRecorder events;

  TlsSecrets(KubernetesClient client, EventRecorder events) {
    this.client = client;
    this.events = events;
  }

  static boolean enabled(PgCluster cluster) {
    return TlsSpec.enabled(cluster.getSpec());
  }

  /** Returns the CA certificate clients verify with; empty when TLS is off or the user's Secret has none. */
  Optional<String> apply(PgCluster cluster, Instant now) {
    if (!enabled(cluster)) {
      return Optional.empty();
    }
    PgClusterNames names = PgClusterNames.of(cluster);
    String ns = cluster.getMetadata().getNamespace();
    String caCert;
    if (cluster.getSpec().tls.serverSecret != null) {
      Secret own = client.secrets().inNamespace(ns).withName(cluster.getSpec().tls.serverSecret).get();
      caCert = own == null ? null : value(own, CA_CERT);
    } else {
      Certificates.Issued ca = authority(cluster, names, now);
      caCert = ca.certificate();
      issueServerCertificate(cluster, names, ca, now);
    }
    if (caCert != null && cluster.getSpec().bootstrap.ownerSecret == null) {
      publishToAppSecret(cluster, names, caCert);
    }
    return Optional.ofNullable(caCert);
  }

  /** Which certificate the instances serve and when it and the CA expire; null when TLS is off. */
  dev.pgcluster.operator.api.v1alpha1.TlsStatus status(PgCluster cluster) {
    if (!enabled(cluster)) {
      return null;
    }
    PgClusterNames names = PgClusterNames.of(cluster);
    String name = cluster.getSpec().tls.serverSecret != null ? cluster.getSpec().tls.serverSecret : names.serverSecret();
    Secret server = client.secrets().inNamespace(cluster.getMetadata().getNamespace()).withName(name).get();
    var status = new dev.pgcluster.operator.api.v1alpha1.TlsStatus();
    status.serverSecret = name;
    status.serverCertificateNotAfter = notAfter(server, "tls.crt");
    status.caNotAfter = notAfter(server, CA_CERT);
    return status;
  }

  private static String notAfter(Secret secret, String key) {
    String pem = secret == null ? null : value(secret, key);
    try {
      return pem == null ? null : Certificates.notAfter(pem).toString();
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private Certificates.Issued authority(PgCluster cluster, PgClusterNames names, Instant now) {
    String ns = cluster.getMetadata().getNamespace();
    Secret live = client.secrets().inNamespace(ns).withName(names.caSecret()).get();
    if (live != null && value(live, CA_CERT) != null && value(live, CA_KEY) != null) {
      return new Certificates.Issued(value(live, CA_CERT), value(live, CA_KEY));
    }
    Certificates.Issued ca = Certificates.authority(ns + "/" + cluster.getMetadata().getName() + " CA", now,
        ServerCertificate.CA_VALIDITY);
    Map<String, String> data = new LinkedHashMap<>();
    data.put(CA_CERT, ca.certificate());
    data.put(CA_KEY, ca.privateKey());
    client.resource(new SecretBuilder().withMetadata(Owned.keptMetadata(cluster, names.caSecret()))
        .withType("Opaque").withStringData(data).build()).create();
    LOG.info("created the certificate authority {} (valid until {})", names.caSecret(), ca.notAfter());
    return ca;
  }

  private void issueServerCertificate(PgCluster cluster, PgClusterNames names, Certificates.Issued ca, Instant now) {
    String ns = cluster.getMetadata().getNamespace();
    Secret live = client.secrets().inNamespace(ns).withName(names.serverSecret()).get();
    List<String> wanted = ServerCertificate.dnsNames(cluster);
    Optional<String> why = ServerCertificate.reissueReason(live == null ? null : value(live, "tls.crt"),
        live == null ? null : value(live, "tls.key"), ca.certificate(), wanted, now);
    if (why.isEmpty()) {
      return;
    }
    Certificates.Issued server = Certificates.server(ca, wanted, now, ServerCertificate.VALIDITY);
    Map<String, String> data = new LinkedHashMap<>();
    data.put("tls.crt", server.certificate());
    data.put("tls.key", server.privateKey());
    data.put(CA_CERT, ca.certificate());
    if (live == null) {
      client.resource(new SecretBuilder().withMetadata(Owned.metadata(cluster, names.serverSecret()))
          .withType("kubernetes.io/tls").withStringData(data).build()).create();
    } else {
      client.secrets().inNamespace(ns).withName(names.serverSecret()).edit(s -> {
        Map<String, String> encoded = new LinkedHashMap<>();
        data.forEach((k, v) -> encoded.put(k, encode(v)));
        s.setData(encoded);
        s.setStringData(null);
        return s;
      });
    }
    String message = "server certificate " + names.serverSecret() + " issued (" + why.get() + "), valid until "
        + server.notAfter();
    LOG.info("{}", message);
    events.normal(cluster, EventReasons.CERTIFICATE_ISSUED, message);
  }

  /** The CA and a verify-full URI beside the generated credentials; the password is never touched. */
  private void publishToAppSecret(PgCluster cluster, PgClusterNames names, String caCert) {
    String ns = cluster.getMetadata().getNamespace();
    Secret app = client.secrets().inNamespace(ns).withName(names.appSecret()).get();
    if (app == null || value(app, "uri") == null) {
      return;
    }
    // Every connection string verifies the server (the JDBC ones read the CA from the same default place
    // as libpq, ~/.postgresql/root.crt, or sslrootcert).
    Map<String, String> verifying = new LinkedHashMap<>();
    for (String key : List.of("uri", "fqdn-uri", "jdbc-uri", "fqdn-jdbc-uri")) {
      String current = value(app, key);
      if (current != null && !current.contains("sslmode=")) {
        verifying.put(key, current + (current.contains("?") ? "&" : "?") + "sslmode=verify-full");
      }
    }
    if (caCert.equals(value(app, CA_CERT)) && verifying.isEmpty() && "verify-full".equals(value(app, "sslmode"))) {
      return;
    }
    client.secrets().inNamespace(ns).withName(names.appSecret()).edit(s -> {
      Map<String, String> data = s.getData() == null ? new LinkedHashMap<>() : new LinkedHashMap<>(s.getData());
      data.put(CA_CERT, encode(caCert));
      data.put("sslmode", encode("verify-full"));
      verifying.forEach((k, v) -> data.put(k, encode(v)));
      s.setData(data);
      return s;
    });
    LOG.info("app Secret {}: the CA certificate and a verify-full URI added", names.appSecret());
  }

  static String value(Secret secret, String key) {
    return dev.pgcluster.operator.observe.SecretValues.value(secret, key).orElse(null);
  }

  private static String encode(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }
}
