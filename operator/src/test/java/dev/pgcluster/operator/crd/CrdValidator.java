package dev.pgcluster.operator.crd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an API server does with a PgCluster before storing it, without an API server: structural
 * defaults, the OpenAPI schema (networknt), then the CEL rules in {@code x-kubernetes-validations}
 * (cel-java), with {@code oldSelf} for updates and the Kubernetes {@code quantity()} function as far
 * as the CRD uses it. Returns the messages a user would see, each prefixed with its field path.
 */
final class CrdValidator {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern QUANTITY = Pattern.compile("^([0-9]+(?:\\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$");

  final JsonNode schema;
  private final JsonSchema jsonSchema;
  private final CelCompiler compiler;
  private final CelRuntime runtime;

  CrdValidator(Path crd) throws IOException {
    JsonNode root = YAML.readTree(Files.readString(crd));
    schema = root.path("spec").path("versions").get(0).path("schema").path("openAPIV3Schema");
    jsonSchema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(schema);
    compiler = CelCompilerFactory.standardCelCompilerBuilder()
        .setStandardMacros(dev.cel.parser.CelStandardMacro.STANDARD_MACROS)
        .addVar("self", SimpleType.DYN)
        .addVar("oldSelf", SimpleType.DYN)
        .addFunctionDeclarations(
            CelFunctionDecl.newFunctionDeclaration("quantity",
                CelOverloadDecl.newGlobalOverload("quantity_string", SimpleType.DOUBLE, SimpleType.STRING)),
            CelFunctionDecl.newFunctionDeclaration("compareTo",
                CelOverloadDecl.newMemberOverload("quantity_compareTo", SimpleType.INT, SimpleType.DOUBLE,
                    SimpleType.DOUBLE)))
        .build();
    runtime = CelRuntimeFactory.standardCelRuntimeBuilder()
        .addFunctionBindings(
            CelFunctionBinding.from("quantity_string", String.class, CrdValidator::quantity),
            CelFunctionBinding.from("quantity_compareTo", Double.class, Double.class,
                (a, b) -> (long) Double.compare(a, b)))
        .build();
  }

  /** Every rule in the CRD, for the "all rules compile" check. */
  List<String> rules() {
    List<String> rules = new ArrayList<>();
    collectRules(schema, rules);
    return rules;
  }

  /** Compile errors of a rule, empty when it compiles. */
  String compileErrors(String rule) {
    var result = compiler.compile(rule);
    return result.hasError() ? result.getErrorString() : "";
  }

  List<String> validate(String manifest, String oldManifest) throws Exception {
    JsonNode object = withDefaults(YAML.readTree(manifest), schema);
    JsonNode old = oldManifest == null ? null : withDefaults(YAML.readTree(oldManifest), schema);
    List<String> errors = new ArrayList<>();
    for (ValidationMessage m : jsonSchema.validate(object)) {
      errors.add(m.getMessage().replaceFirst("^\\$\\.", ""));
    }
    if (errors.isEmpty()) {
      evaluate(schema, object, old, "", errors);
    }
    return errors;
  }

  private void evaluate(JsonNode schemaNode, JsonNode value, JsonNode old, String path, List<String> errors)
      throws Exception {
    if (value == null || value.isMissingNode() || value.isNull()) {
      return;
    }
    for (JsonNode validation : schemaNode.path("x-kubernetes-validations")) {
      String rule = validation.path("rule").asText();
      boolean transition = rule.contains("oldSelf");
      if (transition && (old == null || old.isMissingNode() || old.isNull())) {
        continue;  // transition rules only apply to updates where the field existed before
      }
      Map<String, Object> vars = new LinkedHashMap<>();
      vars.put("self", toCel(value));
      if (transition) {
        vars.put("oldSelf", toCel(old));
      }
      var ast = compiler.compile(rule).getAst();
      Object result;
      try {
        result = runtime.createProgram(ast).eval(vars);
      } catch (Exception e) {
        errors.add((path.isEmpty() ? "<root>" : path) + ": rule error: " + e.getMessage());
        continue;
      }
      if (!Boolean.TRUE.equals(result)) {
        errors.add((path.isEmpty() ? "<root>" : path) + ": " + validation.path("message").asText(rule));
      }
    }
    JsonNode properties = schemaNode.path("properties");
    for (Iterator<String> it = properties.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      evaluate(properties.get(name), value.get(name), old == null ? null : old.get(name),
          path.isEmpty() ? name : path + "." + name, errors);
    }
    // The rules of a list's items, on each item (old: the item at the same index, as for a list the API
    // server cannot correlate; transition rules on items are not used here).
    if (schemaNode.has("items") && value.isArray()) {
      for (int i = 0; i < value.size(); i++) {
        JsonNode oldItem = old != null && old.isArray() && i < old.size() ? old.get(i) : null;
        evaluate(schemaNode.get("items"), value.get(i), oldItem, path + "[" + i + "]", errors);
      }
    }
  }

  /** Structural defaulting: a missing property with a default gets it, inside objects that exist. */
  static JsonNode withDefaults(JsonNode value, JsonNode schemaNode) {
    if (value instanceof ObjectNode object) {
      JsonNode properties = schemaNode.path("properties");
      for (Iterator<String> it = properties.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        JsonNode propertySchema = properties.get(name);
        if (!object.has(name) && propertySchema.has("default")) {
          object.set(name, propertySchema.get("default").deepCopy());
        }
        if (object.has(name)) {
          withDefaults(object.get(name), propertySchema);
        }
      }
    } else if (value != null && value.isArray() && schemaNode.has("items")) {
      value.forEach(item -> withDefaults(item, schemaNode.get("items")));
    }
    return value;
  }

  private static Object toCel(JsonNode node) {
    if (node.isObject()) {
      Map<String, Object> map = new LinkedHashMap<>();
      node.fields().forEachRemaining(e -> map.put(e.getKey(), toCel(e.getValue())));
      return map;
    }
    if (node.isArray()) {
      List<Object> list = new ArrayList<>();
      node.forEach(n -> list.add(toCel(n)));
      return list;
    }
    if (node.isIntegralNumber()) {
      return node.asLong();
    }
    if (node.isNumber()) {
      return node.asDouble();
    }
    if (node.isBoolean()) {
      return node.asBoolean();
    }
    return node.asText();
  }

  private static void collectRules(JsonNode node, List<String> rules) {
    node.path("x-kubernetes-validations").forEach(v -> rules.add(v.path("rule").asText()));
    node.path("properties").forEach(p -> collectRules(p, rules));
    if (node.has("items")) {
      collectRules(node.get("items"), rules);
    }
  }

  /** A Kubernetes quantity in base units (bytes for memory-style suffixes). */
  static double quantity(String text) {
    Matcher m = QUANTITY.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("not a quantity: " + text);
    }
    double number = Double.parseDouble(m.group(1));
    String suffix = m.group(2) == null ? "" : m.group(2);
    double factor = switch (suffix) {
      case "Ki" -> 1024d;
      case "Mi" -> Math.pow(1024, 2);
      case "Gi" -> Math.pow(1024, 3);
      case "Ti" -> Math.pow(1024, 4);
      case "Pi" -> Math.pow(1024, 5);
      case "k" -> 1e3;
      case "M" -> 1e6;
      case "G" -> 1e9;
      case "T" -> 1e12;
      case "P" -> 1e15;
      default -> 1;
    };
    return number * factor;
  }
}
