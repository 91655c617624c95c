package dev.pgcluster.operator.observe;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * The threads that probe instances over SQL, one per instance at a time, so that one instance that
 * does not answer (a connect timeout) delays an observation by its timeout, not by the sum of all.
 * Idle threads end after a minute.
 *
 * <p>An instance whose last probe failed is waited for only {@link #DOWN_WINDOW} (its probe goes on in
 * the background and clears the mark when it answers): a failover is timed by the grant's deadlines,
 * and each of its steps must not wait a connect timeout for the instance that is gone.
 */
final class InstanceProbes {
  static final Duration DOWN_WINDOW = Duration.ofMillis(150);
  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "instance-probe");
    t.setDaemon(true);
    return t;
  });
  /** The pods (by UID) whose last probe did not reach their PostgreSQL. */
  private static final Set<String> DOWN = ConcurrentHashMap.newKeySet();

  /** One probe under way: {@code unanswered} is its result if it is given up on. */
  record Probe<T>(String key, Future<T> future, T unanswered) {}

  private InstanceProbes() {}

  /**
   * @param key the pod's UID: a recreated pod starts unmarked
   * @param reached whether a result reached the instance (clears its mark, else sets it)
   */
  static <T> Probe<T> submit(String key, Callable<T> probe, Predicate<T> reached, T unanswered) {
    Future<T> future = THREADS.submit(() -> {
      T result = probe.call();
      if (key != null) {
        if (reached.test(result)) {
          DOWN.remove(key);
        } else {
          DOWN.add(key);
        }
      }
      return result;
    });
    return new Probe<>(key, future, unanswered);
  }

  /** Every result in submission order; a probe's unexpected failure is rethrown as is. */
  static <T> List<T> all(List<Probe<T>> probes) {
    List<T> results = new ArrayList<>();
    long downUntil = System.nanoTime() + DOWN_WINDOW.toNanos();
    try {
      for (Probe<T> probe : probes) {
        if (probe.key() != null && DOWN.contains(probe.key())) {
          try {
            results.add(probe.future().get(Math.max(0, downUntil - System.nanoTime()), TimeUnit.NANOSECONDS));
          } catch (TimeoutException e) {
            results.add(probe.unanswered());
          }
        } else {
          results.add(probe.future().get());
        }
      }
    } catch (InterruptedException e) {
      probes.forEach(p -> p.future().cancel(true));
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while probing instances", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    }
    return results;
  }
}
