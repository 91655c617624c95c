package dev.pgcluster.operator.tls;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
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
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A cluster's certificate authority and the server certificate it issues, with Bouncy Castle: ECDSA
 * P-256 keys, PEM text as Secrets and PostgreSQL hold them. No state; the callers keep the PEM.
 */
public final class Certificates {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A certificate and its private key, PEM encoded. */
  public record Issued(String certificate, String privateKey) {
    public Instant notAfter() {
      return Certificates.notAfter(certificate);
    }
  }

  private Certificates() {}

  /** A self-signed CA that may sign server certificates (path length 0). */
  public static Issued authority(String commonName, Instant now, Duration validity) {
    try {
      KeyPair keys = newKeys();
      X500Name name = new X500Name("CN=" + commonName);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(60)),
          Date.from(now.plus(validity)), name, keys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      return new Issued(pem(sign(builder, keys.getPrivate())), pem(keys.getPrivate()));
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot create a certificate authority: " + e.getMessage(), e);
    }
  }

  /** A server certificate for {@code dnsNames} (the first is also the common name), signed by {@code ca}. */
  public static Issued server(Issued ca, List<String> dnsNames, Instant now, Duration validity) {
    try {
      X509Certificate caCert = certificate(ca.certificate());
      PrivateKey caKey = privateKey(ca.privateKey());
      KeyPair keys = newKeys();
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      GeneralName[] names = dnsNames.stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(caCert, serial(),
          Date.from(now.minusSeconds(60)), Date.from(now.plus(validity)), new X500Name("CN=" + dnsNames.get(0)),
          keys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names))
          .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      return new Issued(pem(sign(builder, caKey)), pem(keys.getPrivate()));
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot issue a server certificate: " + e.getMessage(), e);
    }
  }

  /** The first certificate of a PEM text. */
  public static X509Certificate certificate(String pem) {
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object o = parser.readObject();
      if (!(o instanceof X509CertificateHolder holder)) {
        throw new IllegalArgumentException("no PEM certificate found");
      }
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("not a PEM certificate: " + e.getMessage(), e);
    }
  }

  public static Instant notAfter(String pem) {
    return certificate(pem).getNotAfter().toInstant();
  }

  /** The DNS names a certificate is valid for (subjectAltName). */
  public static List<String> dnsNames(String pem) {
    try {
      Collection<List<?>> names = certificate(pem).getSubjectAlternativeNames();
      List<String> dns = new ArrayList<>();
      if (names != null) {
        for (List<?> n : names) {
          if (Integer.valueOf(GeneralName.dNSName).equals(n.get(0))) {
            dns.add((String) n.get(1));
          }
        }
      }
      return dns;
    } catch (CertificateParsingException e) {
      throw new IllegalArgumentException("unreadable subjectAltName: " + e.getMessage(), e);
    }
  }

  /** Whether {@code certificate} was signed by the key of {@code ca}. */
  public static boolean signedBy(String certificate, String ca) {
    try {
      certificate(certificate).verify(certificate(ca).getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * Whether {@code privateKeyPem} is the key of {@code certificatePem}: a signature made with the key
   * verifies with the certificate's public key (any key type PostgreSQL serves: EC, RSA, Ed25519).
   * Unreadable PEM throws IllegalArgumentException.
   */
  public static boolean keyMatches(String certificatePem, String privateKeyPem) {
    X509Certificate cert = certificate(certificatePem);
    PrivateKey key = privateKey(privateKeyPem);
    String algorithm = switch (key.getAlgorithm()) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> throw new IllegalArgumentException("unsupported key type " + key.getAlgorithm());
    };
    byte[] challenge = new byte[32];
    RANDOM.nextBytes(challenge);
    try {
      java.security.Signature signer = java.security.Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      java.security.Signature verifier = java.security.Signature.getInstance(algorithm);
      verifier.initVerify(cert.getPublicKey());
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (java.security.InvalidKeyException | java.security.SignatureException e) {
      return false;  // a key of another type than the certificate's
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot check the key against the certificate: " + e.getMessage(), e);
    }
  }

  static PrivateKey privateKey(String pem) {
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object o = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      if (o instanceof org.bouncycastle.openssl.PEMKeyPair pair) {
        return converter.getKeyPair(pair).getPrivate();
      }
      throw new IllegalArgumentException("no PEM private key found");
    } catch (IOException e) {
      throw new IllegalArgumentException("not a PEM private key: " + e.getMessage(), e);
    }
  }

  private static KeyPair newKeys() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return generator.generateKeyPair();
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).add(BigInteger.ONE);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
      throws OperatorCreationException, GeneralSecurityException {
    ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
    return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
  }

  private static String pem(Object o) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(o instanceof PrivateKey key ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null)
          : o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
