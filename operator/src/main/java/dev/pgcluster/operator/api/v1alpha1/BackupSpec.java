package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/**
 * Continuous WAL archiving and base backups with pgBackRest into an object store. The cluster's name
 * is its pgBackRest stanza within {@code repository.path}.
 */
public class BackupSpec {
  /** Five cron fields: minute hour day-of-month month day-of-week (numbers, *, ranges, lists, steps). */
  public static final String CRON_PATTERN =
      "^\\s*([0-9*,/-]+)\\s+([0-9*,/-]+)\\s+([0-9*,/-]+)\\s+([0-9*,/-]+)\\s+([0-9*,/-]+)\\s*$";

  @Required
  @JsonPropertyDescription("Where backups and archived WAL are stored.")
  public RepositorySpec repository;

  @JsonPropertyDescription("How many backups the store keeps.")
  public RetentionSpec retention = new RetentionSpec();

  @Pattern(CRON_PATTERN)
  @Size(max = 100)
  @JsonPropertyDescription("When to take a full backup, in cron syntax (UTC), e.g. '0 3 * * *'.")
  public String schedule;

  @JsonPropertyDescription("WAL archiving settings.")
  public ArchiveSpec archive = new ArchiveSpec();

  /** The store: an S3-compatible object store (AWS S3, MinIO, Ceph RGW...). */
  public static class RepositorySpec {
    @Required
    @JsonPropertyDescription("An S3-compatible object store.")
    public S3Spec s3;

    @Pattern("^/[A-Za-z0-9._/-]*$")
    @Size(max = 200)
    @JsonPropertyDescription("Path inside the bucket; default /pgcluster/<namespace>. Each cluster is a stanza in it.")
    public String path;
  }

  public static class S3Spec {
    @Required
    @Pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    @JsonPropertyDescription("Bucket name; the bucket must exist.")
    public String bucket;

    @Required
    @Pattern("^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
    @Size(max = 253)
    @JsonPropertyDescription("Host name of the endpoint (HTTPS), e.g. s3.eu-west-1.amazonaws.com or minio.storage.svc.")
    public String endpoint;

    @Min(1)
    @Max(65535)
    @JsonPropertyDescription("HTTPS port of the endpoint; default 443.")
    public Integer port;

    @Size(max = 64)
    @JsonPropertyDescription("Region; default us-east-1.")
    public String region;

    @Pattern("^(host|path)$")
    @JsonPropertyDescription("host: bucket.endpoint (AWS); path: endpoint/bucket (MinIO and most others). Default host.")
    public String uriStyle;

    @Required
    @JsonPropertyDescription("Secret holding the access key id and secret access key.")
    public S3Credentials credentials;

    @JsonPropertyDescription("Secret holding the CA certificate that signed the endpoint's certificate; the system CAs when empty.")
    public SecretKey caSecret;
  }

  public static class S3Credentials {
    @Required
    @Size(max = 253)
    @JsonPropertyDescription("Secret name, in the cluster's namespace.")
    public String secret;

    @JsonPropertyDescription("Key of the access key id; default ACCESS_KEY_ID.")
    public String accessKeyIdKey;

    @JsonPropertyDescription("Key of the secret access key; default ACCESS_SECRET_KEY.")
    public String secretAccessKeyKey;
  }

  public static class SecretKey {
    @Required
    @Size(max = 253)
    public String name;

    @JsonPropertyDescription("Key in the Secret; default ca.crt.")
    public String key;
  }

  public static class RetentionSpec {
    @Min(1)
    @Max(100)
    @JsonPropertyDescription("Full backups kept (older ones and the WAL only they need are expired by pgBackRest); default 2.")
    public Integer fullBackups;
  }

  public static class ArchiveSpec {
    @Pattern("^[0-9]+(Mi|Gi|Ti)$")
    @JsonPropertyDescription("Most WAL the primary keeps waiting for the store (e.g. 4Gi, the default). Past it, WAL is"
        + " dropped from the archive (the volume does not fill up; recovery cannot go past the gap until the next backup).")
    public String maxQueueSize;
  }
}
