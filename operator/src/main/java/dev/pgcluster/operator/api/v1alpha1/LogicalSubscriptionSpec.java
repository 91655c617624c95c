package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** One pglogical subscription: the provider node and how to reach it. */
public class LogicalSubscriptionSpec {
  @Required
  @Size(max = 63)
  @Pattern("^[a-z_][a-z0-9_]{0,62}$")
  @JsonPropertyDescription("Subscription name on this node (lower-case identifier).")
  public String name;

  @Required
  @Size(max = 253)
  @Pattern("^[A-Za-z0-9.-]+$")
  @JsonPropertyDescription("Host of the provider's primary: another PgCluster's -rw Service"
      + " (NAME-rw.NAMESPACE.svc), or an address outside this Kubernetes cluster.")
  public String host;

  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("Port of the provider.")
  public Integer port = 5432;

  @JsonPropertyDescription("Database on the provider; this cluster's bootstrap.database when empty.")
  @Size(max = 63)
  @Pattern("^[A-Za-z_][A-Za-z0-9_]{0,62}$")
  public String database;

  @Required
  @JsonPropertyDescription("Secret in this namespace with keys username and password: a superuser of the provider"
      + " (pglogical's subscription reads the provider's pglogical catalog and streams from a slot it creates).")
  public SecretKeyRef credentials;

  @JsonPropertyDescription("Copy the provider's rows once when the subscription is created (true), or only"
      + " replicate changes from then on (false, the default: for tables both sides already hold).")
  public Boolean copyData = false;

  /** A Secret holding a user name and a password. */
  public static class SecretKeyRef {
    @Required
    @Size(max = 253)
    @JsonPropertyDescription("Secret name.")
    public String secret;
  }
}
