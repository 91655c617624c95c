package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * User-tunable PostgreSQL settings. Parameters the operator owns and unsafe pg_hba methods are refused
 * by the reconciler (see SpecValidator): CEL over free-form maps and lists would exceed the API
 * server's rule cost budget.
 */
public class PostgresqlSpec {

  @Size(max = 200)
  @JsonPropertyDescription("postgresql.conf parameters, e.g. max_connections: \"200\".")
  public Map<String, String> parameters = new LinkedHashMap<>();

  @Size(max = 100)
  @JsonPropertyDescription("Extra pg_hba.conf lines, added after the operator's own rules.")
  public List<String> pgHba = new ArrayList<>();
}
