package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/**
 * A database role the operator keeps as declared on the primary. A role taken out of spec.roles is
 * kept (never dropped silently); {@code ensure: absent} drops it.
 */
public class RoleSpec {
  @Required
  @Pattern(BootstrapSpec.IDENTIFIER)
  @Size(max = 63)
  @ValidationRule(value = "!self.startsWith('pg_') && !(self in ['postgres', 'replication', 'streaming_replica',"
      + " 'pgcluster_pooler', 'public'])",
      message = "a declared role may not be a role reserved by PostgreSQL (pg_*, public) or the operator (postgres,"
          + " replication, streaming_replica, pgcluster_pooler)")
  @JsonPropertyDescription("Role name (lower case letters, digits and _, not pg_* nor a role the operator uses).")
  public String name;

  @Default("present")
  @JsonPropertyDescription("present: created and kept as declared; absent: dropped (refused by PostgreSQL while it"
      + " owns objects, reported in status.roles).")
  public Ensure ensure = Ensure.PRESENT;

  @Default("true")
  @JsonPropertyDescription("Whether the role may log in.")
  public Boolean login = true;

  @Default("false")
  @JsonPropertyDescription("Whether the role may create databases.")
  public Boolean createdb = false;

  @Default("-1")
  @Min(-1)
  @JsonPropertyDescription("Concurrent connections the role may open; -1: no limit.")
  public Integer connectionLimit = -1;

  @JsonPropertyDescription("Secret with the role's password (key 'password' unless passwordSecret.key says"
      + " otherwise); set again whenever the Secret changes. Absent: the role has no password.")
  public PasswordSecret passwordSecret;

  @Size(max = 20)
  @ValidationRule(value = "self.all(r, !(r in ['postgres', 'replication', 'streaming_replica', 'pgcluster_pooler',"
      + " 'pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files']))",
      message = "inRoles may not give the operator's roles (postgres, replication, streaming_replica,"
          + " pgcluster_pooler) or the server's files and programs (pg_execute_server_program, pg_read_server_files,"
          + " pg_write_server_files)")
  @JsonPropertyDescription("Roles this role is a member of (granted; memberships not listed are revoked). Not the"
      + " operator's roles nor those that give the server's files or programs.")
  public List<@Pattern(BootstrapSpec.IDENTIFIER) String> inRoles = new ArrayList<>();

  /** Whether the role should exist. */
  public enum Ensure {
    @com.fasterxml.jackson.annotation.JsonProperty("present")
    PRESENT,
    @com.fasterxml.jackson.annotation.JsonProperty("absent")
    ABSENT
  }

  /** A key of a Secret in the cluster's namespace. */
  public static class PasswordSecret {
    @Required
    @Size(max = 253)
    @JsonPropertyDescription("Secret name, in the cluster's namespace.")
    public String name;

    @Default("password")
    @Size(max = 253)
    @JsonPropertyDescription("Key holding the password.")
    public String key = "password";
  }
}
