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

  /** Signals every process of the container's session (SIGKILL, SIGSTOP, SIGCONT). */
  void signalAll(String signal) {
    send(signal, sessionMembers(session));
  }

  boolean anyLeft() {
    return !sessionMembers(session).isEmpty();
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

  /** Live processes whose session id is {@code session}, from /proc. */
  static List<Long> sessionMembers(long session) {
    List<Long> members = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String stat = Files.readString(p.resolve("stat"));
          // Fields after the command (which is in parentheses and may contain spaces).
          String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          // fields[0] = state, [1] = ppid, [2] = pgrp, [3] = session
          if (!fields[0].equals("Z") && Long.parseLong(fields[3]) == session) {
            members.add(Long.parseLong(name));
          }
        } catch (IOException | RuntimeException e) {
          // The process ended while we looked.
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc", e);
    }
    return members;
  }
}
