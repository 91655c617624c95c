package dev.pgcluster.operator.reconcile;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.util.HashMap;
import java.util.List;

/**
 * The fabric8 mock API server in CRUD mode with the PgCluster CRD, plus an answer to the
 * SelfSubjectRulesReview that JOSDK's leader election asks before it starts.
 */
final class MockApi implements AutoCloseable {
  static final String OPERATOR_HEADER = "X-Pgcluster-Test-Client";
  private final KubernetesMockServer server;
  private final List<String> operatorRequests = new java.util.concurrent.CopyOnWriteArrayList<>();

  MockApi() {
    var crd = new CustomResourceDefinitionContext.Builder()
        .withGroup(PgCluster.GROUP).withVersion(PgCluster.VERSION).withPlural("pgclusters")
        .withKind("PgCluster").withScope("Namespaced").withStatusSubresource(true).build();
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new RulesReviewingDispatcher(List.of(crd), operatorRequests), false);
    server.init();
  }

  KubernetesClient newClient() {
    return server.createClient();
  }

  /** A client whose requests are recorded as the operator's (a header marks them). */
  KubernetesClient newOperatorClient() {
    var config = new io.fabric8.kubernetes.client.ConfigBuilder(server.createClient().getConfiguration())
        .withCustomHeaders(java.util.Map.of(OPERATOR_HEADER, "operator")).build();
    return new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(config).build();
  }

  /** "METHOD path" of every request made with {@link #newOperatorClient()}. */
  List<String> operatorRequests() {
    return List.copyOf(operatorRequests);
  }

  /**
   * Changes a PgCluster as {@code kubectl edit} does: read, change, write with the read resourceVersion,
   * and start over when the operator wrote the status in between (409 Conflict).
   */
  static PgCluster editCluster(KubernetesClient client, String ns, String name,
      java.util.function.UnaryOperator<PgCluster> change) {
    for (int attempt = 1; ; attempt++) {
      try {
        return client.resources(PgCluster.class).inNamespace(ns).withName(name).edit(change);
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 10) {
          throw e;
        }
      }
    }
  }

  @Override
  public void close() {
    server.destroy();
  }

  private static final class RulesReviewingDispatcher extends KubernetesCrudDispatcher {
    private final List<String> operatorRequests;

    RulesReviewingDispatcher(List<CustomResourceDefinitionContext> crds, List<String> operatorRequests) {
      super(crds);
      this.operatorRequests = operatorRequests;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      if (request.getHeader(OPERATOR_HEADER) != null) {
        operatorRequests.add(request.getMethod() + " " + request.getPath());
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
      return super.handleCreate(request);
    }
  }
}
