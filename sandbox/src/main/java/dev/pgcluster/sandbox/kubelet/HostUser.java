package dev.pgcluster.sandbox.kubelet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;

/**
 * Who pod processes run as. Images run as a non-root uid (999 in the postgres image) and PostgreSQL
 * refuses to run as root; when the sandbox itself runs as root, pod processes run as the machine's
 * unprivileged {@code postgres} user instead, and the directories they write are handed to it.
 * Otherwise they run as the sandbox's own user.
 */
final class HostUser {
  static final String POD_USER = "postgres";
  private final boolean root = "root".equals(System.getProperty("user.name"));

  /** The prefix that drops privileges; empty when there is nothing to drop. */
  List<String> commandPrefix() {
    return root ? List.of("setpriv", "--reuid=" + POD_USER, "--regid=" + POD_USER, "--init-groups", "--") : List.of();
  }

  void handOver(Path directory) throws IOException {
    if (!root) {
      return;
    }
    UserPrincipalLookupService lookup = directory.getFileSystem().getUserPrincipalLookupService();
    UserPrincipal user = lookup.lookupPrincipalByName(POD_USER);
    GroupPrincipal group = lookup.lookupPrincipalByGroupName(POD_USER);
    PosixFileAttributeView view = Files.getFileAttributeView(directory, PosixFileAttributeView.class);
    view.setOwner(user);
    view.setGroup(group);
  }

  /** Hands over a whole tree: only for small directories the sandbox writes (ConfigMap volumes, ...). */
  void handOverTree(Path directory) throws IOException {
    if (!root) {
      return;
    }
    try (var walk = Files.walk(directory)) {
      for (Path p : walk.toList()) {
        handOver(p);
      }
    }
  }
}
