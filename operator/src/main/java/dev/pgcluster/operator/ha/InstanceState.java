package dev.pgcluster.operator.ha;


/**
 * One instance as observed: its pod (from the API) and, when reachable, its PostgreSQL facts (from SQL).
 *
 * @param roleLabel the pod's current role label, null when unlabeled
 * @param facts null when the instance could not be reached over SQL
 * @param probeError why the SQL probe failed, null when it succeeded or was not attempted
 * @param config how far it has taken up the rendered configuration, null when not read
 * @param podOutdated the pod runs an older pod template than the StatefulSet's (image, resources, ...)
 * @param rewindReport what this pod's init container reported discarding when it rewound the data
 *     (its termination message, JSON), null when it did not rewind
 * @param starting the pod is young and its PostgreSQL has not failed (see observe.PodStartup#creating):
 *     a new instance coming up (a clone, its first replay), not a failed one
 */
public record InstanceState(
    String name, int ordinal, boolean podReady, String podIp, String roleLabel, InstanceFacts facts,
    String probeError, String podUid, ConfigFacts config, boolean podOutdated, String rewindReport,
    boolean starting) {

  public InstanceState(String name, int ordinal, boolean podReady, String podIp, String roleLabel, InstanceFacts facts,
      String probeError, String podUid, ConfigFacts config, boolean podOutdated, String rewindReport) {
    this(name, ordinal, podReady, podIp, roleLabel, facts, probeError, podUid, config, podOutdated, rewindReport, false);
  }

  /** How probeError starts for a pod the scheduler cannot place; the scheduler's message follows. */
  public static final String UNSCHEDULABLE = "unschedulable: ";

  public InstanceState(String name, int ordinal, boolean podReady, String podIp, String roleLabel, InstanceFacts facts,
      String probeError, String podUid, ConfigFacts config, boolean podOutdated) {
    this(name, ordinal, podReady, podIp, roleLabel, facts, probeError, podUid, config, podOutdated, null);
  }

  public InstanceState(String name, int ordinal, boolean podReady, String podIp, String roleLabel, InstanceFacts facts,
      String probeError, String podUid, ConfigFacts config) {
    this(name, ordinal, podReady, podIp, roleLabel, facts, probeError, podUid, config, false);
  }

  public InstanceState(String name, int ordinal, boolean podReady, String podIp, String roleLabel, InstanceFacts facts,
      String probeError, String podUid) {
    this(name, ordinal, podReady, podIp, roleLabel, facts, probeError, podUid, null, false);
  }

  public InstanceState(String name, int ordinal, boolean podReady, String podIp, String roleLabel, InstanceFacts facts,
      String probeError) {
    this(name, ordinal, podReady, podIp, roleLabel, facts, probeError, null, null, false);
  }

  public boolean reachable() {
    return facts != null;
  }

  public boolean runningAsPrimary() {
    return facts != null && !facts.inRecovery();
  }
}
