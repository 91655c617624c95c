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
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The threads that probe instances over SQL, one per instance at a time, so that one instance that
 * does not answer delays an observation by at most {@link #ANSWER_WITHIN}, not by the sum of all.
 * Idle threads end after a minute.
 *
 * <p>A probe not answered in time counts as unreachable for this observation and goes on in the
 * background: its result marks the instance down or clears the mark. An instance marked down is waited
 * for only {@link #DOWN_WINDOW}. A failover is timed by the grant's deadlines, and none of its steps may
 * wait a connect timeout for the instance that is gone, nor the socket timeout of a probe that was
 * under way on it when its node went silent (5 s, seen in the failover benchmark).
 */
final class InstanceProbes {
  static final Duration DOWN_WINDOW = Duration.ofMillis(150);
  static final Duration ANSWER_WITHIN = Duration.ofSeconds(2);
  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "instance-probe");
    t.setDaemon(true);
    return t;
  });
  /** The pods (by UID) whose last probe did not reach their PostgreSQL. */
  private static final Set<String> DOWN = ConcurrentHashMap.newKeySet();

  /** One probe under way: {@code unanswered} makes its result, with why, if it is given up on. */
  record Probe<T>(String key, Future<T> future, Function<String, T> unanswered) {}

  private InstanceProbes() {}

  /**
   * @param key the pod's UID: a recreated pod starts unmarked
   * @param reached whether a result reached the instance (clears its mark, else sets it)
   */
  static <T> Probe<T> submit(String key, Callable<T> probe, Predicate<T> reached, Function<String, T> unanswered) {
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
    long start = System.nanoTime();
    try {
      for (Probe<T> probe : probes) {
        boolean down = probe.key() != null && DOWN.contains(probe.key());
        Duration window = down ? DOWN_WINDOW : ANSWER_WITHIN;
        try {
          results.add(probe.future().get(Math.max(0, start + window.toNanos() - System.nanoTime()),
              TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
          results.add(probe.unanswered().apply("no answer within " + window.toMillis() + " ms"
              + (down ? ", nor to the probe before" : "")));
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
