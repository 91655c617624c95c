package dev.pgcluster.sandbox.controlplane;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The sandbox control plane's key material, written as PEM files: a cluster CA, the API server's
 * serving certificate (signed by it, for every name and address clients use) and the key pair the API
 * server signs service-account tokens with. Made anew for every sandbox; nothing here is secret beyond it.
 */
public final class Pki {
  private static final Duration VALIDITY = Duration.ofDays(30);
  private final SecureRandom random = new SecureRandom();
  private final Path caCert;
  private final Path servingCert;
  private final Path servingKey;
  private final Path serviceAccountKey;
  private final Path serviceAccountPublicKey;
  private X509Certificate ca;  // kept in memory to sign the kubelets' serving certificates
  private KeyPair caKeys;

  private Pki(Path dir) {
    this.caCert = dir.resolve("ca.crt");
    this.servingCert = dir.resolve("apiserver.crt");
    this.servingKey = dir.resolve("apiserver.key");
    this.serviceAccountKey = dir.resolve("sa.key");
    this.serviceAccountPublicKey = dir.resolve("sa.pub");
  }

  /** Generates everything into {@code dir}: the API server answers on {@code dnsNames} and {@code ips}. */
  public static Pki generate(Path dir, List<String> dnsNames, List<String> ips) {
    Pki pki = new Pki(dir);
    try {
      Files.createDirectories(dir);
      KeyPair caKeys = rsa();
      X509Certificate ca = pki.sign(new X500Name("CN=pgcluster-sandbox-ca"), caKeys, null, caKeys, true,
          List.of(), List.of());
      KeyPair servingKeys = rsa();
      X509Certificate serving = pki.sign(new X500Name("CN=kube-apiserver"), servingKeys, ca, caKeys, false,
          dnsNames, ips);
      KeyPair saKeys = rsa();
      pki.ca = ca;
      pki.caKeys = caKeys;
      pki.writePem(pki.caCert, ca);
      pki.writePem(pki.servingCert, serving);
      pki.writePem(pki.servingKey, servingKeys.getPrivate());
      pki.writePem(pki.serviceAccountKey, saKeys.getPrivate());
      pki.writePem(pki.serviceAccountPublicKey, saKeys.getPublic());
      return pki;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot generate the sandbox's certificates", e);
    }
  }

  /**
   * A CA of its own and a serving certificate for a server other than the API server (the sandbox's
   * object store): {@code ca.crt} (PEM) and {@code server.p12} (key and chain, for a Java server).
   */
  public static void generateServer(Path dir, String commonName, List<String> dnsNames, List<String> ips,
      char[] storePassword) {
    Pki pki = new Pki(dir);
    try {
      Files.createDirectories(dir);
      KeyPair caKeys = rsa();
      X509Certificate ca = pki.sign(new X500Name("CN=" + commonName + "-ca"), caKeys, null, caKeys, true,
          List.of(), List.of());
      KeyPair keys = rsa();
      X509Certificate serving = pki.sign(new X500Name("CN=" + commonName), keys, ca, caKeys, false, dnsNames, ips);
      pki.writePem(dir.resolve("ca.crt"), ca);
      java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("server", keys.getPrivate(), storePassword, new java.security.cert.Certificate[] {serving, ca});
      try (var out = Files.newOutputStream(dir.resolve("server.p12"))) {
        store.store(out, storePassword);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot generate the certificates of " + commonName, e);
    }
  }

  /**
   * A serving certificate signed by the cluster CA, as a kubelet's: the API server verifies it
   * (--kubelet-certificate-authority) when it proxies a log request to the node.
   */
  public javax.net.ssl.SSLContext servingContext(String commonName, List<String> dnsNames, List<String> ips) {
    try {
      KeyPair keys = rsa();
      X509Certificate serving = sign(new X500Name("CN=" + commonName), keys, ca, caKeys, false, dnsNames, ips);
      char[] password = "sandbox".toCharArray();
      java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("server", keys.getPrivate(), password, new java.security.cert.Certificate[] {serving, ca});
      javax.net.ssl.KeyManagerFactory managers =
          javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      managers.init(store, password);
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(managers.getKeyManagers(), null, null);
      return context;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot issue the serving certificate of " + commonName, e);
    }
  }

  public Path caCert() {
    return caCert;
  }

  public Path servingCert() {
    return servingCert;
  }

  public Path servingKey() {
    return servingKey;
  }

  public Path serviceAccountKey() {
    return serviceAccountKey;
  }

  public Path serviceAccountPublicKey() {
    return serviceAccountPublicKey;
  }

  private static KeyPair rsa() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    return generator.generateKeyPair();
  }

  private X509Certificate sign(X500Name subject, KeyPair subjectKeys, X509Certificate issuer, KeyPair issuerKeys,
      boolean ca, List<String> dnsNames, List<String> ips)
      throws GeneralSecurityException, OperatorCreationException, IOException {
    Instant now = Instant.now();
    X500Name issuerName = issuer == null ? subject : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuerName, new BigInteger(64, random),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), subject, subjectKeys.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    if (ca) {
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } else {
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      List<GeneralName> names = new ArrayList<>();
      dnsNames.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
      for (String ip : ips) {
        names.add(new GeneralName(GeneralName.iPAddress, InetAddress.getByName(ip).getHostAddress()));
      }
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
    }
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
  }

  private void writePem(Path file, Object object) throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
      pem.writeObject(object);
    }
    Files.writeString(file, text.toString());
  }
}
