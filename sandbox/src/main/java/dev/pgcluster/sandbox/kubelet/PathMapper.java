package dev.pgcluster.sandbox.kubelet;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Stands in for a container's mount namespace: a path under a volume's mountPath, wherever it appears
 * in a command, an argument or an environment value, becomes the same path under the volume's host
 * directory. Scripts that take their paths from the environment (as the operator's do) work unchanged;
 * a path hard-coded inside a script file would not be seen, which is one of the sandbox's limits.
 */
final class PathMapper {
  private final Map<String, Path> mounts = new LinkedHashMap<>();
  private final Pattern pattern;

  PathMapper(Map<String, Path> mountPathToHost) {
    mountPathToHost.entrySet().stream()
        .sorted(Comparator.comparingInt((Map.Entry<String, Path> e) -> e.getKey().length()).reversed())
        .forEach(e -> mounts.put(stripSlash(e.getKey()), e.getValue()));
    String alternatives = String.join("|", mounts.keySet().stream().map(Pattern::quote).toList());
    // A mount path counts only as a whole path component: /data maps, /database does not.
    pattern = mounts.isEmpty() ? null : Pattern.compile("(?<![\\w.-])(" + alternatives + ")(?=/|$|[^\\w.-])");
  }

  String map(String value) {
    if (value == null || pattern == null) {
      return value;
    }
    Matcher m = pattern.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(mounts.get(m.group(1)).toString()));
    }
    m.appendTail(out);
    return out.toString();
  }

  List<String> map(List<String> values) {
    return values.stream().map(this::map).toList();
  }

  private static String stripSlash(String path) {
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }
}
