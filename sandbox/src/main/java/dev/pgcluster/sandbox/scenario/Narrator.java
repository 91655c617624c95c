package dev.pgcluster.sandbox.scenario;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/**
 * Tells a scenario to a person at a terminal: each step on a line with the seconds since the start, a
 * dot every two seconds while it waits, each check with what was expected and what was seen, and a
 * summary table at the end. The scenario passed when every check did.
 */
public final class Narrator {
  /** One thing the scenario set out to show, and whether it did. */
  public record Check(String what, String expected, String observed, boolean ok) {}

  private final PrintStream out;
  private final long start = System.nanoTime();
  private final List<Check> checks = new ArrayList<>();

  public Narrator(PrintStream out) {
    this.out = out;
  }

  public void say(String text) {
    out.printf(Locale.ROOT, "[%6.1f s] %s%n", seconds(), text);
    out.flush();
  }

  public boolean check(String what, String expected, String observed, boolean ok) {
    checks.add(new Check(what, expected, observed, ok));
    say((ok ? "ok    " : "FAIL  ") + what + ": " + observed);
    return ok;
  }

  /**
   * Polls {@code probe} until {@code done} holds, with a dot every two seconds; returns the last value
   * seen (a probe that throws counts as not done) and whether it held, after at most {@code timeout}.
   */
  public <T> Awaited<T> await(String what, Duration timeout, Callable<T> probe, Predicate<T> done) {
    out.printf(Locale.ROOT, "[%6.1f s] waiting: %s ", seconds(), what);
    out.flush();
    long begin = System.nanoTime();
    long deadline = begin + timeout.toNanos();
    long nextDot = begin + 2_000_000_000L;
    T last = null;
    while (true) {
      try {
        last = probe.call();
        if (done.test(last)) {
          double took = (System.nanoTime() - begin) / 1e9;
          out.printf(Locale.ROOT, " done (%.1f s)%n", took);
          return new Awaited<>(last, true, took);
        }
      } catch (Exception e) {
        // not yet
      }
      if (System.nanoTime() > deadline) {
        out.printf(Locale.ROOT, " gave up after %d s%n", timeout.toSeconds());
        return new Awaited<>(last, false, (System.nanoTime() - begin) / 1e9);
      }
      if (System.nanoTime() > nextDot) {
        out.print('.');
        out.flush();
        nextDot += 2_000_000_000L;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Awaited<>(last, false, (System.nanoTime() - begin) / 1e9);
      }
    }
  }

  /** What an await saw: the last value, whether the condition held, and after how many seconds. */
  public record Awaited<T>(T value, boolean held, double seconds) {}

  public List<Check> checks() {
    return List.copyOf(checks);
  }

  public boolean passed() {
    return !checks.isEmpty() && checks.stream().allMatch(Check::ok);
  }

  public void summary(String title) {
    out.println();
    out.println("Summary: " + title);
    int what = "CHECK".length();
    int expected = "EXPECTED".length();
    for (Check c : checks) {
      what = Math.max(what, c.what().length());
      expected = Math.max(expected, c.expected().length());
    }
    String format = "%-" + what + "s  %-" + expected + "s  %-6s  %s%n";
    out.printf(format, "CHECK", "EXPECTED", "RESULT", "OBSERVED");
    for (Check c : checks) {
      out.printf(format, c.what(), c.expected(), c.ok() ? "ok" : "FAIL", c.observed());
    }
    out.println(passed() ? "The scenario showed what it set out to show." : "The scenario did NOT turn out as narrated.");
    out.flush();
  }

  private double seconds() {
    return (System.nanoTime() - start) / 1e9;
  }
}
