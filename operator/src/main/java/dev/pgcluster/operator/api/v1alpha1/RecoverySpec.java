package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * A new cluster whose first primary is restored from another cluster's backups and WAL (point-in-time
 * recovery) instead of initdb. The source is only read.
 */
public class RecoverySpec {
  @Required
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
  @Size(max = 63)
  @JsonPropertyDescription("Name of the cluster whose backups to restore (its stanza); it need not exist any more.")
  public String source;

  @Pattern("^/[A-Za-z0-9._/-]*$")
  @Size(max = 200)
  @JsonPropertyDescription("Path of the source's repository in spec.backup's bucket; default spec.backup.repository.path.")
  public String repositoryPath;

  @JsonPropertyDescription("Where recovery stops; the end of the archived WAL when empty.")
  public Target target;

  @ValidationRule(value = "!(has(self.time) && has(self.lsn))", message = "recovery target: give time or lsn, not both")
  public static class Target {
    @Pattern("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")
    @JsonPropertyDescription("RFC 3339 time, e.g. 2026-12-01T09:30:00Z: transactions committed at or before it are kept.")
    public String time;

    @Pattern("^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")
    @JsonPropertyDescription("A WAL position, e.g. 0/3000060: recovery stops there (inclusive).")
    public String lsn;
  }
}
