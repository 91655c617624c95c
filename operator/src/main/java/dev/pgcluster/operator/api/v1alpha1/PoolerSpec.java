package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/**
 * A PgBouncer Deployment in front of the primary, behind the Service {@code <cluster>-pooler-rw}.
 * Part of the cluster's spec (not a resource of its own) because the operator that moves the primary
 * is the one that must hold and release the pool around the move.
 */
public class PoolerSpec {
  public static final String DEFAULT_IMAGE = "ghcr.io/cloudnative-pg/pgbouncer:1.24.1";

  @Default("2")
  @Min(1)
  @Max(20)
  @JsonPropertyDescription("Number of PgBouncer pods (1..20).")
  public Integer instances = 2;

  @Default(DEFAULT_IMAGE)
  @Pattern("^[^\\s]+$")
  @JsonPropertyDescription("Container image with pgbouncer and sh on its PATH.")
  public String image = DEFAULT_IMAGE;

  @Default("session")
  @JsonPropertyDescription("When a server connection returns to the pool: session (when the client disconnects;"
      + " every client feature works), transaction (after each transaction; a switchover pauses clients instead"
      + " of failing them, but session state such as prepared statements does not carry over), statement.")
  public PoolMode poolMode = PoolMode.SESSION;

  @Default("20")
  @Min(1)
  @Max(10000)
  @JsonPropertyDescription("Server connections per user and database pair, per PgBouncer pod (default_pool_size).")
  public Integer defaultPoolSize = 20;

  @Default("1000")
  @Min(1)
  @Max(100000)
  @JsonPropertyDescription("Client connections each PgBouncer pod accepts (max_client_conn).")
  public Integer maxClientConnections = 1000;

  @Default("0")
  @Min(0)
  @Max(20)
  @JsonPropertyDescription("Number of PgBouncer pods in front of the -ro Service (ready standbys), behind the Service"
      + " <cluster>-pooler-ro, with the same pool settings; their server sessions are read-only. 0 (default): none.")
  public Integer readOnlyInstances = 0;

  @JsonPropertyDescription("Compute resources of the pgbouncer container.")
  public ResourceRequirements resources;

  /** spec.pooler.readOnlyInstances, 0 when absent. */
  public int readOnlyInstances() {
    return readOnlyInstances == null ? 0 : readOnlyInstances;
  }

  /** Whether the spec asks for a pooler. */
  public static boolean enabled(PgClusterSpec spec) {
    return spec.pooler != null;
  }
}
