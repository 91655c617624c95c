package dev.pgcluster.operator.build;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Every Jackson module the operator runs with is of one version (the jackson-bom in the parent pom): a
 * test-only library once brought an older jackson-databind that won over fabric8's at run time.
 */
class DependencyAlignmentTest {
  @Test
  void everyJacksonModuleIsOfOneVersion() {
    Map<String, String> versions = new TreeMap<>();
    versions.put("core", com.fasterxml.jackson.core.json.PackageVersion.VERSION.toString());
    versions.put("databind", com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION.toString());
    versions.put("yaml", com.fasterxml.jackson.dataformat.yaml.PackageVersion.VERSION.toString());
    versions.put("jsr310", com.fasterxml.jackson.datatype.jsr310.PackageVersion.VERSION.toString());
    assertEquals(1, versions.values().stream().distinct().count(), versions.toString());
  }
}
