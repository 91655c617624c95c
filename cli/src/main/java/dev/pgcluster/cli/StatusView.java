package dev.pgcluster.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.api.v1alpha1.PrimaryChangeStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A PgCluster at a glance, as text for a terminal or as JSON. Pure: the cluster in, text out. */
final class StatusView {
  private final boolean colour;

  StatusView(boolean colour) {
    this.colour = colour;
  }

  String text(PgCluster cluster) {
    PgClusterStatus s = cluster.getStatus();
    String name = cluster.getMetadata().getName();
    StringBuilder out = new StringBuilder();
    if (s == null || s.phase == null) {
      return "Cluster " + name + " (namespace " + cluster.getMetadata().getNamespace()
          + "): no status yet; the operator has not reconciled it (is it running?)\n";
    }
    out.append(String.format("Cluster   %s (namespace %s)   phase %s   %d/%d instances ready%n", name,
        cluster.getMetadata().getNamespace(), phase(s.phase.toString()), orZero(s.readyInstances),
        cluster.getSpec().instances == null ? 0 : cluster.getSpec().instances));
    out.append(String.format("Primary   %s   epoch %s%n", s.currentPrimary == null ? "none" : green(s.currentPrimary),
        s.primaryEpoch == null ? "-" : s.primaryEpoch));
    if (s.replication != null) {
      out.append("Mode      ").append(s.replication).append('\n');
    }
    if (s.synchronousStandbyNames != null && !s.synchronousStandbyNames.isBlank()) {
      out.append("Sync      synchronous_standby_names = ").append(s.synchronousStandbyNames).append('\n');
    }
    PrimaryChangeStatus change = s.lastPrimaryChange;
    if (change != null && change.to != null) {
      out.append(String.format("Last change of primary: %s -> %s at %s (%s)%s%n", change.from, change.to, change.at,
          change.reason, change.promotionSeconds == null ? ""
              : String.format(Locale.ROOT, ", promoted in %.2f s", change.promotionSeconds)));
      if (change.rewind != null) {
        String loss = "  realised data loss: " + change.rewind.transactions + " transactions committed on "
            + change.rewind.instance + " past the fork point were discarded (" + change.rewind.bytes + " bytes of WAL)";
        out.append(change.rewind.transactions != null && change.rewind.transactions > 0 ? red(loss) : loss).append('\n');
      }
    }
    out.append('\n');
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"INSTANCE", "ROLE", "READY", "TIMELINE", "LAG", "SYNC", "PENDING RESTART"});
    for (InstanceStatus i : s.instances) {
      rows.add(new String[] {i.name, (i.role == null ? "-" : i.role.label())
          + (Boolean.TRUE.equals(i.fenced) ? " (fenced)" : ""), Boolean.TRUE.equals(i.ready) ? "yes" : "no",
          i.timeline == null ? "-" : Long.toString(i.timeline), lag(i), i.syncState == null ? "-" : i.syncState,
          i.pendingRestart == null || i.pendingRestart.isEmpty() ? "-" : String.join(", ", i.pendingRestart)});
    }
    table(out, rows);
    if (s.conditions != null && !s.conditions.isEmpty()) {
      out.append('\n');
      for (var c : s.conditions) {
        String line = String.format("%-12s %-5s %s: %s", c.getType(), c.getStatus(), c.getReason(), c.getMessage());
        boolean bad = ("Ready".equals(c.getType()) && !"True".equals(c.getStatus()))
            || ("Degraded".equals(c.getType()) && "True".equals(c.getStatus()));
        out.append(bad ? yellow(line) : line).append('\n');
      }
    }
    return out.toString();
  }

  /** The status as the API holds it, with the cluster's name and namespace. */
  static String json(PgCluster cluster) {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode node = mapper.createObjectNode();
    node.put("name", cluster.getMetadata().getName());
    node.put("namespace", cluster.getMetadata().getNamespace());
    node.set("spec", mapper.valueToTree(cluster.getSpec()));
    node.set("status", mapper.valueToTree(cluster.getStatus()));
    try {
      return mapper.writeValueAsString(node) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private String lag(InstanceStatus i) {
    if (i.lagBytes == null && i.lagSeconds == null) {
      return "-";
    }
    String text = bytes(i.lagBytes == null ? 0 : i.lagBytes) + (i.lagSeconds == null ? ""
        : String.format(Locale.ROOT, " / %.1f s", i.lagSeconds));
    return i.lagBytes != null && i.lagBytes > 16L * 1024 * 1024 ? yellow(text) : text;
  }

  static String bytes(long b) {
    if (b < 1024) {
      return b + " B";
    }
    if (b < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
    }
    return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
  }

  private String phase(String phase) {
    return switch (phase) {
      case "Healthy" -> green(phase);
      case "Degraded", "Initializing" -> yellow(phase);
      default -> red(phase);
    };
  }

  /** Columns as wide as their widest cell (colour codes do not count). */
  private static void table(StringBuilder out, List<String[]> rows) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int c = 0; c < r.length; c++) {
        width[c] = Math.max(width[c], visible(r[c]).length());
      }
    }
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < r.length; c++) {
        line.append(r[c]);
        if (c < r.length - 1) {
          line.append(" ".repeat(width[c] - visible(r[c]).length() + 2));
        }
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
  }

  private static String visible(String s) {
    return s.replaceAll("\u001b\\[[0-9;]*m", "");
  }

  private static int orZero(Integer i) {
    return i == null ? 0 : i;
  }

  private String green(String s) {
    return paint("32", s);
  }

  private String yellow(String s) {
    return paint("33", s);
  }

  private String red(String s) {
    return paint("31", s);
  }

  private String paint(String code, String s) {
    return colour ? "\u001b[" + code + "m" + s + "\u001b[0m" : s;
  }
}
