package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** What initdb creates for the application. Immutable: changing it later would not touch the data. */
public class BootstrapSpec {

  static final String IDENTIFIER = "^[a-z_][a-z0-9_]{0,62}$";

  @Default("app")
  @Pattern(IDENTIFIER)
  @Size(max = 63)
  @ValidationRule(value = "self == oldSelf", message = "bootstrap.database is immutable")
  @JsonPropertyDescription("Application database created at bootstrap.")
  public String database = "app";

  @Default("app")
  @Pattern(IDENTIFIER)
  @Size(max = 63)
  @ValidationRule(value = "!(self in ['postgres', 'replication', 'streaming_replica'])",
      message = "bootstrap.owner may not be a role reserved by the operator (postgres, replication, streaming_replica)")
  @ValidationRule(value = "self == oldSelf", message = "bootstrap.owner is immutable")
  @JsonPropertyDescription("Owner role of the application database.")
  public String owner = "app";

  @JsonPropertyDescription("Existing Secret (keys username, password) for the owner; generated when empty.")
  @Size(max = 253)
  public String ownerSecret;

  @JsonPropertyDescription("Existing Secret (keys username, password) for the postgres superuser; generated when empty.")
  @Size(max = 253)
  public String superuserSecret;

  @ValidationRule(value = "self == oldSelf", message = "bootstrap.recovery is immutable")
  @JsonPropertyDescription("Restore the first primary from backups (point-in-time recovery) instead of initdb.")
  public RecoverySpec recovery;
}
