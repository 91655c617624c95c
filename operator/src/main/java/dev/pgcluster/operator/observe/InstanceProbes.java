package dev.pgcluster.operator.observe;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The threads that probe instances over SQL, one per instance at a time, so that one instance that
 * does not answer (a connect timeout) delays an observation by its timeout, not by the sum of all.
 * Idle threads end after a minute.
 */
final class InstanceProbes {
  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "instance-probe");
    t.setDaemon(true);
    return t;
  });

  private InstanceProbes() {}

  static <T> Future<T> submit(Callable<T> probe) {
    return THREADS.submit(probe);
  }

  /** Every result in submission order; a probe's unexpected failure is rethrown as is. */
  static <T> List<T> all(List<Future<T>> probes) {
    List<T> results = new ArrayList<>();
    try {
      for (Future<T> probe : probes) {
        results.add(probe.get());
      }
    } catch (InterruptedException e) {
      probes.forEach(p -> p.cancel(true));
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
