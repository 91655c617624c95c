package dev.pgcluster.operator.observe;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads that probe instances over SQL, all instances at once, so that one instance that does
 * not answer delays an observation by at most the answer window (the connect timeout), not by the sum
 * of all. Idle threads end after a minute.
 *
 * <p>A probe not answered in time counts as unreachable for this observation and goes on in the
 * background: its result marks the instance down or clears the mark (a result older than the one that
 * set the mark changes nothing). An instance marked down is waited for only {@link #DOWN_WINDOW}. A
 * failover is timed by the grant's deadlines, and none of its steps may wait a connect timeout for the
 * instance that is gone, nor the socket timeout of a probe that was under way on it when its node went
 * silent (5 s, seen in the failover benchmark).
 */
final class InstanceProbes {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceProbes.class);
  static final Duration DOWN_WINDOW = Duration.ofMillis(150);
  /** Marks of pods not probed for this long are dropped (a deleted pod's UID never comes back). */
  private static final Duration FORGET_AFTER = Duration.ofMinutes(10);
  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "instance-probe");
    t.setDaemon(true);
    return t;
  });

  /** Whether a pod's last probe reached its PostgreSQL, from a probe submitted at {@code submittedAt}. */
  private record Mark(boolean down, long submittedAt) {}

  /** By pod UID. */
  private static final Map<String, Mark> MARKS = new ConcurrentHashMap<>();

  /** One probe under way: {@code unanswered} makes its result, with why, if it is given up on. */
  record Probe<T>(String key, Future<T> future, Function<String, T> unanswered) {}

  private InstanceProbes() {}

  /**
   * @param key the pod's UID: a recreated pod starts unmarked
   * @param reached whether a result reached the instance (clears its mark, else sets it)
   */
  static <T> Probe<T> submit(String key, Callable<T> probe, Predicate<T> reached, Function<String, T> unanswered) {
    long submittedAt = System.nanoTime();
    MARKS.values().removeIf(m -> submittedAt - m.submittedAt() > FORGET_AFTER.toNanos());
    Future<T> future = THREADS.submit(() -> {
      T result;
      try {
        result = probe.call();
      } catch (RuntimeException e) {
        LOG.warn("probe of pod {} failed unexpectedly", key, e);
        mark(key, true, submittedAt);
        throw e;
      }
      mark(key, !reached.test(result), submittedAt);
      return result;
    });
    return new Probe<>(key, future, unanswered);
  }

  private static void mark(String key, boolean down, long submittedAt) {
    if (key != null) {
      MARKS.merge(key, new Mark(down, submittedAt), (old, now) -> now.submittedAt() >= old.submittedAt() ? now : old);
    }
  }

  private static boolean down(String key) {
    Mark mark = key == null ? null : MARKS.get(key);
    return mark != null && mark.down();
  }

  /**
   * Every result in submission order, each waited for at most {@code answerWithin} from now (an
   * instance marked down: {@link #DOWN_WINDOW}); a probe's unexpected failure is rethrown as is.
   */
  static <T> List<T> all(List<Probe<T>> probes, Duration answerWithin) {
    List<T> results = new ArrayList<>();
    long start = System.nanoTime();
    try {
      for (Probe<T> probe : probes) {
        boolean down = down(probe.key());
        Duration window = down ? DOWN_WINDOW : answerWithin;
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
