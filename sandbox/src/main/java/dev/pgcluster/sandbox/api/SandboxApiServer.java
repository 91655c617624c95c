package dev.pgcluster.sandbox.api;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.mockwebserver.http.Buffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.regex.Pattern;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;

/**
 * The embedded Kubernetes API: the fabric8 mock server in CRUD mode on 127.0.0.1, with the PgCluster
 * CRD registered (status subresource), and a kubeconfig file so that any client connects to it as to
 * a cluster. It also answers SelfSubjectRulesReview (everything allowed: the sandbox has no RBAC),
 * which JOSDK asks before leader election.
 */
public final class SandboxApiServer implements AutoCloseable {
  /** The mock server logs every request through java.util.logging; held so the level sticks. */
  private static final java.util.logging.Logger MOCK_LOG = quiet("io.fabric8.mockwebserver");
  private final KubernetesMockServer server;
  private final Path kubeconfig;
  /** Pod uid -> the grace period its deletion asked for, read by the kubelet (deletionGracePeriodSeconds). */
  private final java.util.Map<String, Long> deletionGrace = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong outageUntil = new java.util.concurrent.atomic.AtomicLong();

  public SandboxApiServer(Path kubeconfig) throws IOException {
    var pgclusters = new CustomResourceDefinitionContext.Builder()
        .withGroup("pgcluster.dev").withVersion("v1alpha1").withPlural("pgclusters")
        .withKind("PgCluster").withScope("Namespaced").withStatusSubresource(true).build();
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new SandboxDispatcher(List.of(pgclusters), deletionGrace, outageUntil), false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    this.kubeconfig = kubeconfig;
    Files.createDirectories(kubeconfig.getParent());
    Files.writeString(kubeconfig, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: pgcluster-sandbox
          cluster:
            server: %s
        users:
        - name: sandbox
          user:
            token: sandbox
        contexts:
        - name: pgcluster-sandbox
          context:
            cluster: pgcluster-sandbox
            user: sandbox
            namespace: default
        current-context: pgcluster-sandbox
        """.formatted(url()));
  }

  private static java.util.logging.Logger quiet(String name) {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
    logger.setLevel(java.util.logging.Level.WARNING);
    return logger;
  }

  public String url() {
    return "http://" + server.getHostName() + ":" + server.getPort();
  }

  public Path kubeconfig() {
    return kubeconfig;
  }

  /** Every request gets 503 Service Unavailable for this long: the control plane is down. */
  public void outage(java.time.Duration duration) {
    outageUntil.set(System.nanoTime() + duration.toNanos());
  }

  /** The grace period the deletion of the pod with this uid asked for, if it gave one (consumed). */
  public java.util.Optional<Long> takeDeletionGrace(String podUid) {
    return java.util.Optional.ofNullable(deletionGrace.remove(podUid));
  }

  /** A client configured from the kubeconfig file, as any tool would be. */
  public KubernetesClient newClient() throws IOException {
    Config config = Config.fromKubeconfig(Files.readString(kubeconfig));
    config.setRequestTimeout(10_000);
    config.setConnectionTimeout(5_000);
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  @Override
  public void close() {
    server.destroy();
  }

  private static final class SandboxDispatcher extends KubernetesCrudDispatcher {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SECRETS = Pattern.compile("/api/v1/namespaces/[^/]+/secrets(/[^/?]+)?(\\?.*)?");

    private static final Pattern POD = Pattern.compile("/api/v1/namespaces/[^/]+/pods/([^/?]+)(\\?.*)?");
    private final java.util.Map<String, Long> deletionGrace;
    private final java.util.concurrent.atomic.AtomicLong outageUntil;

    SandboxDispatcher(List<CustomResourceDefinitionContext> crds, java.util.Map<String, Long> deletionGrace,
        java.util.concurrent.atomic.AtomicLong outageUntil) {
      super(crds);
      this.deletionGrace = deletionGrace;
      this.outageUntil = outageUntil;
    }

    /** Remembers a pod deletion's gracePeriodSeconds for the kubelet (the mock only sees the path). */
    @Override
    public MockResponse dispatch(RecordedRequest request) {
      if (System.nanoTime() < outageUntil.get()) {
        return new MockResponse().setResponseCode(503).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
            + "\"status\":\"Failure\",\"message\":\"sandbox: API server outage\",\"code\":503}");
      }
      if ("DELETE".equals(request.getMethod()) && POD.matcher(request.getPath()).matches()) {
        try {
          String body = request.getUtf8Body();
          JsonNode options = body == null || body.isBlank() ? null : JSON.readTree(body);
          if (options != null && options.has("gracePeriodSeconds")) {
            MockResponse current = super.handleGet(request.getPath().replaceAll("\\?.*", ""));
            JsonNode pod = JSON.readTree(current.getBody().readUtf8());
            String uid = pod.path("metadata").path("uid").asText(null);
            if (uid != null) {
              deletionGrace.put(uid, options.get("gracePeriodSeconds").asLong());
            }
          }
        } catch (IOException | RuntimeException e) {
          // No grace period recorded: the pod's own terminationGracePeriodSeconds applies.
        }
      }
      return super.dispatch(request);
    }

    @Override
    public MockResponse handleCreate(RecordedRequest request) {
      if (request.getPath().contains("/selfsubjectrulesreviews")) {
        return new MockResponse().setResponseCode(201).setBody("{\"apiVersion\":\"authorization.k8s.io/v1\","
            + "\"kind\":\"SelfSubjectRulesReview\",\"status\":{\"incomplete\":false,\"resourceRules\":"
            + "[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]}]}}");
      }
      return super.handleCreate(secretStringData(request));
    }

    @Override
    public MockResponse handleUpdate(RecordedRequest request) {
      return super.handleUpdate(secretStringData(request));
    }

    /** The API server stores a Secret's stringData as base64 data; readers only ever see data. */
    private static RecordedRequest secretStringData(RecordedRequest request) {
      if (!SECRETS.matcher(request.getPath()).matches()) {
        return request;
      }
      try {
        ObjectNode secret = (ObjectNode) JSON.readTree(request.getUtf8Body());
        JsonNode stringData = secret.remove("stringData");
        if (stringData == null || !stringData.isObject()) {
          return request;
        }
        ObjectNode data = secret.has("data") && secret.get("data").isObject() ? (ObjectNode) secret.get("data")
            : secret.putObject("data");
        stringData.fields().forEachRemaining(e -> data.put(e.getKey(),
            Base64.getEncoder().encodeToString(e.getValue().asText().getBytes(StandardCharsets.UTF_8))));
        return new RecordedRequest(request.getRequestLine(), request.method(), request.getPath(),
            request.getHeaders(), new Buffer(JSON.writeValueAsBytes(secret)));
      } catch (IOException | ClassCastException e) {
        return request;
      }
    }
  }
}
