package dev.pgcluster.sandbox.kubelet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One container's process tree. It starts in a session of its own ({@code setsid}), so the whole tree
 * (postgres and every backend) can be signalled at once and nothing escapes when the pod goes away.
 */
final class ContainerProcess {
  private final Process process;
  private final long session;
  /**
   * Every process of the container seen so far (pid -> start time, so a reused pid is never taken for
   * ours), so that orphans are still found after their parent died.
   */
  private final Map<Long, Long> known = new java.util.concurrent.ConcurrentHashMap<>();

  private ContainerProcess(Process process) {
    this.process = process;
    this.session = process.pid();
  }

  static ContainerProcess start(List<String> privilegePrefix, List<String> command, Map<String, String> env,
      Path workingDirectory, Path log) throws IOException {
    List<String> full = new ArrayList<>();
    full.add("setsid");
    full.addAll(privilegePrefix);
    full.addAll(command);
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(full)
        .directory(workingDirectory.toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().clear();
    pb.environment().putAll(env);
    return new ContainerProcess(pb.start());
  }

  boolean alive() {
    return process.isAlive();
  }

  Integer exitCode() {
    return process.isAlive() ? null : process.exitValue();
  }

  long pid() {
    return process.pid();
  }

  boolean waitFor(long millis) throws InterruptedException {
    return process.waitFor(millis, TimeUnit.MILLISECONDS);
  }

  /** Signals the container's main process only, as the kubelet's stop does with SIGTERM. */
  void signalMain(String signal) {
    send(signal, List.of(process.pid()));
  }

  /**
   * Signals every process of the container. PostgreSQL's children leave the postmaster's session
   * (setsid) and overwrite their environment with the process title, so the container's processes
   * are found as the process tree under its main process, plus its session. For SIGKILL the tree is
   * first frozen with SIGSTOP until no new process appears, so nothing forks away during the kill.
   */
  void signalAll(String signal) {
    if (!signal.equals("KILL")) {
      send(signal, new ArrayList<>(members().keySet()));
      return;
    }
    Map<Long, Long> frozen = new java.util.LinkedHashMap<>(known);
    for (int round = 0; round < 20; round++) {
      Map<Long, Long> now = members();
      if (frozen.keySet().containsAll(now.keySet()) && round > 0) {
        break;
      }
      send("STOP", new ArrayList<>(now.keySet()));
      frozen.putAll(now);
    }
    frozen.entrySet().removeIf(e -> !alive(e.getKey(), e.getValue()));
    known.putAll(frozen);
    send("KILL", new ArrayList<>(frozen.keySet()));
  }

  /** True while any process of the container (as seen so far) is alive; also records new ones. */
  boolean anyLeft() {
    known.putAll(members());
    known.entrySet().removeIf(e -> !alive(e.getKey(), e.getValue()));
    return !known.isEmpty();
  }

  /** The tree under the main process plus its session, pid -> start time. */
  private Map<Long, Long> members() {
    Map<Long, long[]> all = new java.util.HashMap<>();
    for (long[] p : processes()) {
      all.put(p[0], p);
    }
    Map<Long, Long> tree = new java.util.LinkedHashMap<>();
    for (long[] p : all.values()) {
      if (p[0] == session || p[2] == session) {
        tree.put(p[0], p[3]);
      }
    }
    // Known processes still alive stay members: their children are ours too.
    known.forEach((pid, start) -> {
      long[] p = all.get(pid);
      if (p != null && p[3] == start) {
        tree.put(pid, start);
      }
    });
    boolean grew = true;
    while (grew) {
      grew = false;
      for (long[] p : all.values()) {
        if (!tree.containsKey(p[0]) && tree.containsKey(p[1])) {
          tree.put(p[0], p[3]);
          grew = true;
        }
      }
    }
    return tree;
  }

  /** Live (non-zombie) processes as {pid, ppid, session, start time}. */
  private static List<long[]> processes() {
    List<long[]> out = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String stat = Files.readString(p.resolve("stat"));
          // Fields after the command (in parentheses, may contain spaces): state, ppid, pgrp, session,
          // ... starttime is the 22nd field of the line, the 20th after the command.
          String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          if (!fields[0].equals("Z")) {
            out.add(new long[] {Long.parseLong(name), Long.parseLong(fields[1]), Long.parseLong(fields[3]),
                Long.parseLong(fields[19])});
          }
        } catch (IOException | RuntimeException e) {
          // The process ended while we looked.
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc", e);
    }
    return out;
  }

  private static boolean alive(long pid, long start) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return !fields[0].equals("Z") && Long.parseLong(fields[19]) == start;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static void send(String signal, List<Long> pids) {
    if (pids.isEmpty()) {
      return;
    }
    List<String> command = new ArrayList<>(List.of("kill", "-s", signal, "--"));
    pids.forEach(p -> command.add(Long.toString(p)));
    try {
      new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start().waitFor(5, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kill: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
