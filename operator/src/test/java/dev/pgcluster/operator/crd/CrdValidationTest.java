package dev.pgcluster.operator.crd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The checked-in CRD rejects what a user can get wrong, with the message they would see, and accepts
 * the manifests they should write: OpenAPI schema and CEL rules evaluated as an API server would.
 */
class CrdValidationTest {
  static CrdValidator validator;

  @BeforeAll
  static void load() throws Exception {
    validator = new CrdValidator(Path.of("../crds/pgclusters.pgcluster.dev-v1.yml"));
  }

  static String manifest(String spec) {
    return "apiVersion: pgcluster.dev/v1alpha1\nkind: PgCluster\nmetadata:\n  name: pg\nspec:\n"
        + spec.indent(2);
  }

  static final String BASE = "instances: 3\nstorage:\n  size: 10Gi\n";

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("instances missing", "storage:\n  size: 1Gi\n", null, "instances"),
        Arguments.of("storage missing", "instances: 3\n", null, "storage"),
        Arguments.of("no instances", "instances: 0\nstorage:\n  size: 1Gi\n", null, "minimum value of 1"),
        Arguments.of("too many instances", "instances: 10\nstorage:\n  size: 1Gi\n", null, "maximum value of 9"),
        Arguments.of("size not a quantity", "instances: 3\nstorage:\n  size: ten gigs\n", null, "does not match"),
        Arguments.of("unknown replication mode", BASE + "replication:\n  mode: semi-sync\n", null, "enum"),
        Arguments.of("unknown sync method", BASE + "replication:\n  mode: sync\n  method: most\n", null, "enum"),
        Arguments.of("unknown durability", BASE + "replication:\n  mode: sync\n  durability: maybe\n", null, "enum"),
        Arguments.of("sync quorum larger than the standbys", BASE + "replication:\n  mode: sync\n  number: 3\n", null,
            "replication.number must not exceed the number of standbys that can be synchronous"),
        Arguments.of("sync quorum counting a delayed standby", "instances: 4\nstorage:\n  size: 1Gi\nreplication:\n"
            + "  mode: sync\n  number: 3\n  delayedReplicas:\n    instances: 1\n    applyDelay: 1h\n", null,
            "replication.number must not exceed"),
        Arguments.of("delayed replicas leave no promotable standby", "instances: 3\nstorage:\n  size: 1Gi\n"
            + "replication:\n  delayedReplicas:\n    instances: 2\n    applyDelay: 1h\n", null,
            "delayedReplicas.instances must leave at least one promotable"),
        Arguments.of("apply delay without unit", BASE + "replication:\n  delayedReplicas:\n    instances: 1\n"
            + "    applyDelay: \"3600\"\n", null, "does not match"),
        Arguments.of("probe period out of range", BASE + "failover:\n  probePeriodSeconds: 0\n", null,
            "minimum value of 1"),
        Arguments.of("lease shorter than 5 s", BASE + "failover:\n  leaseDurationSeconds: 2\n", null,
            "minimum value of 5"),
        Arguments.of("reserved owner role", BASE + "bootstrap:\n  owner: postgres\n", null,
            "bootstrap.owner may not be a role reserved"),
        Arguments.of("database name with a dash", BASE + "bootstrap:\n  database: my-app\n", null, "does not match"),
        Arguments.of("storage shrinks", "instances: 3\nstorage:\n  size: 5Gi\n", BASE, "storage.size may not shrink"),
        Arguments.of("storage class changes", BASE + "  storageClass: fast\n", BASE + "  storageClass: slow\n",
            "storage.storageClass is immutable"),
        Arguments.of("database renamed", BASE + "bootstrap:\n  database: other\n", BASE + "bootstrap:\n  database: app\n",
            "bootstrap.database is immutable"),
        Arguments.of("image with a space", BASE + "image: \"postgres 16\"\n", null, "does not match"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void rejects(String name, String spec, String oldSpec, String expected) throws Exception {
    List<String> errors = validator.validate(manifest(spec), oldSpec == null ? null : manifest(oldSpec));
    assertTrue(errors.stream().anyMatch(e -> e.contains(expected)), name + ": expected '" + expected + "' in " + errors);
  }

  static Stream<Arguments> valid() {
    return Stream.of(
        Arguments.of("minimal 3-instance async", BASE, null),
        Arguments.of("sync ANY 1", BASE + "replication:\n  mode: sync\n  number: 1\n", null),
        Arguments.of("sync FIRST 2 of 4", "instances: 4\nstorage:\n  size: 1Gi\nreplication:\n  mode: sync\n"
            + "  method: first\n  number: 2\n  durability: preferred\n  synchronousCommit: remote_apply\n", null),
        Arguments.of("delayed standby", "instances: 4\nstorage:\n  size: 1Gi\nreplication:\n  delayedReplicas:\n"
            + "    instances: 1\n    applyDelay: 1h\n", null),
        Arguments.of("storage grows", "instances: 3\nstorage:\n  size: 20Gi\n", BASE),
        Arguments.of("scale and tune", "instances: 5\nstorage:\n  size: 10Gi\npostgresql:\n  parameters:\n"
            + "    max_connections: \"200\"\n", BASE));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("valid")
  void accepts(String name, String spec, String oldSpec) throws Exception {
    assertEquals(List.of(), validator.validate(manifest(spec), oldSpec == null ? null : manifest(oldSpec)), name);
  }

  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"pgcluster-async.yaml", "pgcluster-sync-quorum.yaml",
      "pgcluster-delayed.yaml"})
  void theExamplesAreValid(String example) throws Exception {
    assertEquals(List.of(), validator.validate(java.nio.file.Files.readString(Path.of("../examples", example)), null));
  }

  @Test
  void everyRuleCompiles() {
    List<String> rules = validator.rules();
    assertTrue(rules.size() >= 7, rules.toString());
    for (String rule : rules) {
      assertEquals("", validator.compileErrors(rule), rule);
    }
  }

  @Test
  void quantitiesCompareAcrossSuffixes() {
    assertTrue(CrdValidator.quantity("1Gi") > CrdValidator.quantity("1G"));
    assertEquals(CrdValidator.quantity("1024Mi"), CrdValidator.quantity("1Gi"));
  }
}
