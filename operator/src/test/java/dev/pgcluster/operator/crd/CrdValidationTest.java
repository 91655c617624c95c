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

  static Stream<Arguments> invalid() {
    return CrdCases.invalid();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void rejects(String name, String spec, String oldSpec, String expected) throws Exception {
    List<String> errors = validator.validate(CrdCases.manifest(spec), oldSpec == null ? null : CrdCases.manifest(oldSpec));
    assertTrue(errors.stream().anyMatch(e -> e.contains(expected)), name + ": expected '" + expected + "' in " + errors);
  }

  static Stream<Arguments> valid() {
    return CrdCases.valid();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("valid")
  void accepts(String name, String spec, String oldSpec) throws Exception {
    assertEquals(List.of(), validator.validate(CrdCases.manifest(spec), oldSpec == null ? null : CrdCases.manifest(oldSpec)), name);
  }

  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"pgcluster-async.yaml", "pgcluster-sync-quorum.yaml",
      "pgcluster-delayed.yaml", "pgcluster-backup.yaml", "pgcluster-restore.yaml", "pgcluster-pooler.yaml",
      "pgcluster-tls.yaml", "pgcluster-active-active-dc1.yaml", "pgcluster-active-active-dc2.yaml"})
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
