package dev.pgcluster.sandbox.objectstore;

import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import dev.pgcluster.sandbox.controlplane.Pki;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real S3-protocol server for the sandbox: s3proxy (org.gaul:s3proxy, Maven Central) over HTTPS on
 * an address of the sandbox network, storing objects in a directory, reachable from pods as the
 * Service {@code objectstore.objectstore.svc} (port 443), like MinIO deployed in a cluster. Its CA is its
 * own; clusters name it in {@code spec.backup.repository.s3.caSecret}. {@link #stop()} and
 * {@link #start()} make a store outage.
 */
public final class ObjectStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ObjectStore.class);
  public static final String NAMESPACE = "objectstore";
  public static final String SERVICE = "objectstore";
  public static final String ENDPOINT = SERVICE + "." + NAMESPACE + ".svc.cluster.local";
  public static final String BUCKET = "backups";
  public static final String ACCESS_KEY_ID = "sandbox-backups";
  public static final String SECRET_ACCESS_KEY = "sandbox-backups-secret-key";
  private static final char[] STORE_PASSWORD = "objectstore".toCharArray();

  private final Path dir;
  private final String address;
  private final int port;
  private Process process;

  private ObjectStore(Path dir, String address, int port) {
    this.dir = dir;
    this.address = address;
    this.port = port;
  }

  /** Starts the server on {@code address} and publishes its Service through {@code admin}. */
  public static ObjectStore start(Path dir, String address, KubernetesClient admin) {
    int port = 9443;
    ObjectStore store = new ObjectStore(dir, address, port);
    try {
      Files.createDirectories(dir.resolve("data").resolve(BUCKET));
      Pki.generateServer(dir.resolve("pki"), SERVICE, List.of(ENDPOINT, SERVICE + "." + NAMESPACE + ".svc",
          SERVICE + "." + NAMESPACE), List.of(address), STORE_PASSWORD);
      Files.writeString(dir.resolve("s3proxy.properties"), String.join("\n",
          "s3proxy.secure-endpoint=https://" + address + ":" + port,
          "s3proxy.authorization=aws-v2-or-v4",
          "s3proxy.identity=" + ACCESS_KEY_ID,
          "s3proxy.credential=" + SECRET_ACCESS_KEY,
          "s3proxy.keystore-path=" + dir.resolve("pki/server.p12"),
          "s3proxy.keystore-password=" + new String(STORE_PASSWORD),
          "jclouds.provider=filesystem",
          "jclouds.filesystem.basedir=" + dir.resolve("data"), ""));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    store.start();
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build())
        .createOr(existing -> existing.update());
    // No selector: the endpoint is maintained here, as for a store outside the cluster's pods.
    admin.services().inNamespace(NAMESPACE).resource(new ServiceBuilder().withNewMetadata().withName(SERVICE)
        .endMetadata().withNewSpec().addNewPort().withName("https").withPort(443).withNewTargetPort(port).endPort()
        .endSpec().build()).createOr(existing -> existing.update());
    admin.discovery().v1().endpointSlices().inNamespace(NAMESPACE).resource(new EndpointSliceBuilder()
        .withNewMetadata().withName(SERVICE).withLabels(Map.of("kubernetes.io/service-name", SERVICE)).endMetadata()
        .withAddressType("IPv4")
        .addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint()
        .addNewPort().withName("https").withPort(port).withProtocol("TCP").endPort()
        .build()).createOr(existing -> existing.update());
    LOG.info("object store up: https://{} (s3proxy on {}:{}), bucket {}, data in {}", ENDPOINT, address, port, BUCKET,
        dir.resolve("data"));
    return store;
  }

  /** (Re)starts the server process; back after an outage with every object it had. */
  public synchronized void start() {
    if (process != null && process.isAlive()) {
      return;
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    try {
      process = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar().toString(),
          "--properties", dir.resolve("s3proxy.properties").toString())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("s3proxy.log").toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start s3proxy", e);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(address, port), 500);
        return;
      } catch (IOException e) {
        if (!process.isAlive()) {
          throw new IllegalStateException("s3proxy exited with " + process.exitValue() + "; see "
              + dir.resolve("s3proxy.log"));
        }
        try {
          Thread.sleep(200);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
    throw new IllegalStateException("s3proxy did not listen on " + address + ":" + port + " within 60 s");
  }

  /** An outage: the server is killed; connections are refused until {@link #start()}. */
  public synchronized void stop() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The Secret a PgCluster's spec.backup names: the keys (default key names) and the CA (ca.crt). */
  public Secret credentialsSecret(String namespace, String name) {
    try {
      return new SecretBuilder().withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
          .withStringData(Map.of("ACCESS_KEY_ID", ACCESS_KEY_ID, "ACCESS_SECRET_KEY", SECRET_ACCESS_KEY,
              "ca.crt", Files.readString(dir.resolve("pki/ca.crt"))))
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The objects of the bucket, as files (s3proxy's filesystem provider). */
  public Path bucketDirectory() {
    return dir.resolve("data").resolve(BUCKET);
  }

  /** A spec.backup block for this store, with credentials and CA from {@code secret}. */
  public static String specYaml(String secret, String indent) {
    return indent + "backup:\n"
        + indent + "  repository:\n"
        + indent + "    s3:\n"
        + indent + "      bucket: " + BUCKET + "\n"
        + indent + "      endpoint: " + ENDPOINT + "\n"
        + indent + "      uriStyle: path\n"
        + indent + "      credentials:\n"
        + indent + "        secret: " + secret + "\n"
        + indent + "      caSecret:\n"
        + indent + "        name: " + secret + "\n";
  }

  @Override
  public void close() {
    stop();
  }

  static Path jar() {
    Path target = ControlPlaneBuild.repositoryRoot().resolve("sandbox/target/s3proxy");
    try (Stream<Path> files = Files.list(target)) {
      return files.filter(p -> p.getFileName().toString().matches("s3proxy-.*\\.jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no s3proxy jar in " + target + ": build with ./mvnw package"));
    } catch (IOException e) {
      throw new IllegalStateException("no s3proxy jar in " + target + ": build the sandbox module (./mvnw package)", e);
    }
  }
}
