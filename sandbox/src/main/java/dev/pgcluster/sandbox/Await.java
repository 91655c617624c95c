package dev.pgcluster.sandbox;

import java.time.Duration;
import java.util.concurrent.Callable;

/** Polls a condition until it holds; fails with what was awaited and the last value seen. */
public final class Await {
  private Await() {}

  public static <T> T until(Duration timeout, String what, Callable<T> probe, java.util.function.Predicate<T> done)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = null;
    Exception lastError = null;
    while (System.nanoTime() < deadline) {
      try {
        last = probe.call();
        lastError = null;
        if (done.test(last)) {
          return last;
        }
      } catch (Exception e) {
        lastError = e;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + "; last seen: "
        + last + (lastError == null ? "" : "; last error: " + lastError));
  }

  public static void until(Duration timeout, String what, Callable<Boolean> condition) throws InterruptedException {
    until(timeout, what, condition, Boolean.TRUE::equals);
  }

  /** {@link #until(Duration, String, Callable)} for callers that cannot be interrupted meaningfully. */
  public static void untilTrue(Duration timeout, String what, Callable<Boolean> condition) {
    try {
      until(timeout, what, condition);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + what);
    }
  }
}
