package dev.pgcluster.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodIPBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one pod like a kubelet: volumes, init containers in order, then the containers with restart
 * back-off, exec/TCP probes driving readiness and liveness, the pod status written to the API, and a
 * graceful stop (preStop, SIGTERM, grace period, SIGKILL) when the pod is deleted.
 */
final class PodRunner {
  private static final Logger LOG = LoggerFactory.getLogger(PodRunner.class);
  private static final long MAX_BACKOFF_MS = 16_000;

  private final Kubelet kubelet;
  private final Pod pod;
  private final String ip;
  private final Path directory;
  private final String id;
  private final PodVolumes volumes;
  private final Map<String, ContainerState> init = new LinkedHashMap<>();
  private final Map<String, ContainerState> main = new LinkedHashMap<>();
  private final Thread thread;
  private final String startTime = Instant.now().toString();
  private volatile boolean terminating;
  /** The deletion's gracePeriodSeconds, null for the pod's own terminationGracePeriodSeconds. */
  private volatile Long requestedGrace;
  private volatile boolean nodeLost;
  private volatile String waitingMessage;
  private PodStatus written;
  private long writtenAt;
  private long lastVolumeRefresh;

  /** What the kubelet knows of one container. */
  private static final class ContainerState {
    final Container spec;
    ContainerProcess process;
    int restarts;
    long nextStartMillis;
    boolean ready;
    boolean startedOnce;
    int readinessFailures;
    int livenessFailures;
    long startedMillis;
    long nextReadinessMillis;
    long nextLivenessMillis;
    long lastTrackedMillis;
    /** The environment and path mapping the running process got: probes and hooks run inside it. */
    Map<String, String> env = Map.of();
    PathMapper mapper;
    Integer lastExit;
    String startedAt;
    boolean completed;
    String waitingReason = "PodInitializing";

    ContainerState(Container spec) {
      this.spec = spec;
    }
  }

  PodRunner(Kubelet kubelet, Pod pod, String ip, Path directory) {
    this.kubelet = kubelet;
    this.pod = pod;
    this.ip = ip;
    this.directory = directory;
    this.id = pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
    this.volumes = new PodVolumes(kubelet.client(), kubelet.user(), pod, directory, kubelet.claimsDirectory(),
        kubelet.attachments());
    if (pod.getSpec().getInitContainers() != null) {
      pod.getSpec().getInitContainers().forEach(c -> init.put(c.getName(), new ContainerState(c)));
    }
    pod.getSpec().getContainers().forEach(c -> main.put(c.getName(), new ContainerState(c)));
    this.thread = new Thread(this::run, "kubelet " + id);
    this.thread.setDaemon(true);
  }

  String uid() {
    return pod.getMetadata().getUid();
  }

  String ip() {
    return ip;
  }

  Pod pod() {
    return pod;
  }

  void start() {
    thread.start();
  }

  /** The pod was deleted: stop gracefully on the pod's thread. */
  void terminate(java.util.Optional<Long> grace) {
    if (!terminating) {
      requestedGrace = grace.orElse(null);
      terminating = true;
      thread.interrupt();
    }
  }

  boolean finished() {
    return !thread.isAlive();
  }

  void awaitFinished(long millis) throws InterruptedException {
    thread.join(millis);
  }

  /** The node is going: from now on nothing of this pod starts or restarts, no status is written. */
  void markNodeLost() {
    nodeLost = true;
  }

  /** The node is gone: every process dies at once, nothing restarts, the status is no longer written. */
  void loseNode() {
    nodeLost = true;
    allStates().forEach(s -> {
      if (s.process != null) {
        s.process.signalAll("KILL");
      }
    });
    thread.interrupt();
  }

  /** Sends a signal to every process of one container (fault injection). */
  void signal(String container, String signal) {
    ContainerState state = main.containsKey(container) ? main.get(container) : init.get(container);
    if (state == null || state.process == null) {
      throw new IllegalArgumentException(id + " has no running container " + container);
    }
    LOG.info("{} container {}: SIG{} to every process", id, container, signal);
    state.process.signalAll(signal);
  }

  /** The pid of a container's main process, if it runs. */
  Long mainPid(String container) {
    ContainerState state = main.get(container);
    return state == null || state.process == null || !state.process.alive() ? null : state.process.pid();
  }

  private List<ContainerState> allStates() {
    List<ContainerState> all = new ArrayList<>(init.values());
    all.addAll(main.values());
    return all;
  }

  private void run() {
    try {
      writeStatus();
      prepareVolumes();
      for (ContainerState state : init.values()) {
        runToCompletion(state);
      }
      while (!stopping()) {
        refreshVolumes();
        long now = System.currentTimeMillis();
        for (ContainerState state : main.values()) {
          supervise(state, now);
        }
        writeStatus();
        sleep(250);
      }
    } catch (InterruptedException e) {
      // Deleted or node lost: handled below.
    } catch (Exception e) {
      if (!stopping()) {
        LOG.error("{}: kubelet failure: {}", id, e.toString(), e);
      }
    } finally {
      shutDown();
      kubelet.attachments().detachAll(uid());
      kubelet.podGone(directory);
    }
  }

  private boolean stopping() {
    return terminating || nodeLost || kubelet.closing();
  }

  private void prepareVolumes() throws InterruptedException, IOException {
    long backoff = 500;
    while (!stopping()) {
      try {
        volumes.prepare();
        waitingMessage = null;
        return;
      } catch (PodVolumes.NotReady | KubernetesClientException e) {
        if (!Objects.equals(waitingMessage, e.getMessage())) {
          LOG.info("{}: waiting to mount volumes: {}", id, e.getMessage());
        }
        waitingMessage = e.getMessage();
        writeStatus();
        sleep(backoff);
        backoff = Math.min(backoff * 2, 4000);
      }
    }
    throw new InterruptedException();
  }

  private void runToCompletion(ContainerState state) throws Exception {
    while (!stopping()) {
      refreshVolumes();
      if (!startContainer(state)) {
        writeStatus();
        sleep(2000);
        continue;
      }
      writeStatus();
      while (state.process.alive() && !stopping()) {
        state.process.waitFor(500);
      }
      if (stopping()) {
        throw new InterruptedException();
      }
      state.lastExit = state.process.exitCode();
      if (state.lastExit == 0) {
        state.completed = true;
        LOG.info("{}: init container {} completed", id, state.spec.getName());
        writeStatus();
        return;
      }
      state.restarts++;
      long backoff = backoff(state.restarts);
      state.waitingReason = state.restarts > 1 ? "CrashLoopBackOff" : "Error";
      LOG.warn("{}: init container {} exited with {}; retrying in {} ms (log: {})", id, state.spec.getName(),
          state.lastExit, backoff, log(state));
      writeStatus();
      sleep(backoff);
    }
    throw new InterruptedException();
  }

  private void supervise(ContainerState state, long now) throws Exception {
    if (state.process == null || !state.process.alive()) {
      if (state.process != null && state.lastExit == null) {
        state.lastExit = state.process.exitCode();
        state.ready = false;
        state.restarts++;
        state.nextStartMillis = now + backoff(state.restarts);
        state.waitingReason = state.restarts > 1 ? "CrashLoopBackOff" : "Error";
        LOG.warn("{}: container {} exited with {}; restart {} in {} ms (log: {})", id, state.spec.getName(),
            state.lastExit, state.restarts, state.nextStartMillis - now, log(state));
      }
      if (now >= state.nextStartMillis) {
        startContainer(state);
      }
      return;
    }
    if (now - state.lastTrackedMillis > 2000) {
      state.process.anyLeft();  // records new processes of the container, for a complete stop later
      state.lastTrackedMillis = now;
    }
    Probe readiness = state.spec.getReadinessProbe();
    if (readiness == null) {
      state.ready = true;
    } else if (now >= state.nextReadinessMillis && now - state.startedMillis >= seconds(readiness.getInitialDelaySeconds(), 0)) {
      boolean ok = probe(state, readiness);
      state.nextReadinessMillis = now + seconds(readiness.getPeriodSeconds(), 10);
      if (ok) {
        state.readinessFailures = 0;
        if (!state.ready) {
          LOG.info("{}: container {} is ready", id, state.spec.getName());
        }
        state.ready = true;
      } else if (++state.readinessFailures >= threshold(readiness)) {
        if (state.ready) {
          LOG.info("{}: container {} failed its readiness probe {} times: not ready", id, state.spec.getName(),
              state.readinessFailures);
        }
        state.ready = false;
      }
    }
    Probe liveness = state.spec.getLivenessProbe();
    if (liveness != null && now >= state.nextLivenessMillis
        && now - state.startedMillis >= seconds(liveness.getInitialDelaySeconds(), 0)) {
      boolean ok = probe(state, liveness);
      state.nextLivenessMillis = now + seconds(liveness.getPeriodSeconds(), 10);
      state.livenessFailures = ok ? 0 : state.livenessFailures + 1;
      if (state.livenessFailures >= threshold(liveness)) {
        LOG.warn("{}: container {} failed its liveness probe {} times: restarting it", id, state.spec.getName(),
            state.livenessFailures);
        stopContainer(state, graceSeconds());
      }
    }
  }

  /** ConfigMap and Secret volumes follow their objects about once a second. */
  private void refreshVolumes() throws IOException {
    long now = System.currentTimeMillis();
    if (now - lastVolumeRefresh < 1000) {
      return;
    }
    lastVolumeRefresh = now;
    try {
      volumes.prepare();
    } catch (PodVolumes.NotReady | KubernetesClientException e) {
      // Keeps the last content, as the kubelet does when an object disappears from under a running pod
      // or the API server cannot be reached: running containers never depend on the API.
    }
  }

  /** Starts the container, or records why it cannot start yet and returns false. */
  private boolean startContainer(ContainerState state) throws Exception {
    if (nodeLost) {
      return false;  // a lost node starts nothing, not even a restart that was already due
    }
    Container c = state.spec;
    state.process = null;
    Images.Launch launch = kubelet.images().launch(c.getImage()).orElse(null);
    if (launch == null) {
      state.waitingReason = "ErrImagePull";
      waitingMessage = "image " + c.getImage() + " cannot run in the sandbox: only postgres, pgbouncer and pgcluster-operator "
          + "images map to local programs";
      state.nextStartMillis = System.currentTimeMillis() + 10_000;
      return false;
    }
    PathMapper mapper;
    Map<String, String> env;
    try {
      mapper = volumes.mapperFor(c);
      env = EnvResolver.resolve(kubelet.client(), podWithIp(), c);
    } catch (PodVolumes.NotReady | KubernetesClientException e) {
      // A missing Secret key, or the API server unreachable: retried, the pod lives on.
      state.waitingReason = "CreateContainerConfigError";
      waitingMessage = e.getMessage();
      state.nextStartMillis = System.currentTimeMillis() + 2000;
      return false;
    }
    Map<String, String> processEnv = new LinkedHashMap<>();
    processEnv.put("PATH", launch.path());
    processEnv.put("HOME", directory.toString());
    processEnv.put("LANG", "C.UTF-8");
    processEnv.put("HOSTNAME", pod.getMetadata().getName());
    processEnv.putAll(kubelet.serviceEnvironment());
    // The image's environment first: as in Kubernetes, the container's own env overrides it.
    launch.environment().forEach((k, v) -> processEnv.put(k, mapper.map(v)));
    env.forEach((k, v) -> processEnv.put(k, mapper.map(v)));
    processEnv.putAll(kubelet.dnsEnvironment(pod.getMetadata().getNamespace()));
    // As in Kubernetes: command replaces the image's entrypoint, args follow it.
    List<String> command = new ArrayList<>();
    if (c.getCommand() != null && !c.getCommand().isEmpty()) {
      c.getCommand().forEach(s -> command.add(mapper.map(EnvResolver.expand(s, env))));
    } else {
      command.addAll(launch.entrypoint());
    }
    if (c.getArgs() != null) {
      c.getArgs().forEach(s -> command.add(mapper.map(EnvResolver.expand(s, env))));
    }
    if (command.isEmpty()) {
      throw new IllegalStateException(id + " container " + c.getName() + " has no command and its image no "
          + "entrypoint in the sandbox");
    }
    String workingDir = c.getWorkingDir() == null ? directory.toString() : mapper.map(c.getWorkingDir());
    state.env = processEnv;
    state.mapper = mapper;
    state.process = ContainerProcess.start(kubelet.processPrefix(directory), command, processEnv,
        Path.of(workingDir).toFile().isDirectory() ? Path.of(workingDir) : directory, log(state));
    state.startedMillis = System.currentTimeMillis();
    state.startedAt = Instant.now().toString();
    state.startedOnce = true;
    state.lastExit = null;
    state.ready = false;
    state.readinessFailures = 0;
    state.livenessFailures = 0;
    state.nextReadinessMillis = 0;
    state.nextLivenessMillis = 0;
    waitingMessage = null;
    LOG.info("{}: started container {} (pid {}, log {})", id, c.getName(), state.process.pid(), log(state));
    return true;
  }

  private boolean probe(ContainerState state, Probe probe) {
    long timeoutMs = seconds(probe.getTimeoutSeconds(), 1);
    try {
      if (probe.getExec() != null) {
        PathMapper mapper = state.mapper;
        Map<String, String> env = state.env;
        List<String> command = new ArrayList<>(kubelet.processPrefix(directory));
        command.addAll(mapper.map(probe.getExec().getCommand()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
          return false;
        }
        return p.exitValue() == 0;
      }
      if (probe.getTcpSocket() != null) {
        int port = probe.getTcpSocket().getPort().getIntVal();
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress(ip, port), (int) timeoutMs);
          return true;
        }
      }
      if (probe.getHttpGet() != null) {
        return httpProbe(state, probe.getHttpGet(), timeoutMs);
      }
      LOG.warn("{}: only exec, tcpSocket and httpGet probes exist in the sandbox", id);
      return false;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** An HTTP GET to the pod's address: 200-399 is a success, as for the kubelet. */
  private boolean httpProbe(ContainerState state, io.fabric8.kubernetes.api.model.HTTPGetAction get, long timeoutMs)
      throws IOException, InterruptedException {
    Integer port = get.getPort().getIntVal();
    if (port == null) {
      port = state.spec.getPorts() == null ? null : state.spec.getPorts().stream()
          .filter(p -> get.getPort().getStrVal().equals(p.getName()))
          .map(io.fabric8.kubernetes.api.model.ContainerPort::getContainerPort).findFirst().orElse(null);
    }
    if (port == null) {
      return false;
    }
    String path = get.getPath() == null ? "/" : get.getPath();
    java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://" + ip + ":" + port + path)).timeout(java.time.Duration.ofMillis(timeoutMs)).GET().build();
    try {
      int code = HTTP.send(request, java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
      return code >= 200 && code < 400;
    } catch (java.net.http.HttpTimeoutException e) {
      return false;
    }
  }

  private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder()
      .connectTimeout(java.time.Duration.ofSeconds(1)).build();

  /** preStop, SIGTERM to the main process, the rest of the grace period, then SIGKILL to everything. */
  private void stopContainer(ContainerState state, long graceSeconds) {
    if (state.process == null || !state.process.alive()) {
      return;
    }
    long deadline = System.currentTimeMillis() + graceSeconds * 1000;
    var preStop = state.spec.getLifecycle() == null ? null : state.spec.getLifecycle().getPreStop();
    if (preStop != null && preStop.getExec() != null && graceSeconds > 0) {
      runPreStop(state, preStop.getExec().getCommand(), deadline);
    }
    state.process.signalMain("TERM");
    try {
      while (state.process.anyLeft() && System.currentTimeMillis() < deadline && !kubelet.closing()) {
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (state.process.anyLeft() && graceSeconds > 0) {
      LOG.warn("{}: container {} still running after its grace period: SIGKILL", id, state.spec.getName());
    }
    state.process.signalAll("KILL");
    awaitGone(state.process);
  }

  /** SIGKILL is asynchronous; a stopped container has no process left. */
  private static void awaitGone(ContainerProcess process) {
    try {
      // A process forked just before the signal escapes it: signal again until the session is empty.
      for (int i = 0; i < 100 && process.anyLeft(); i++) {
        process.signalAll("KILL");
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void runPreStop(ContainerState state, List<String> hook, long deadline) {
    try {
      PathMapper mapper = state.mapper;
      Map<String, String> env = state.env;
      List<String> command = new ArrayList<>(kubelet.processPrefix(directory));
      command.addAll(mapper.map(hook));
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log(state).toFile()));
      pb.environment().clear();
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(Math.max(0, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
      }
    } catch (Exception e) {
      LOG.warn("{}: preStop hook of {} failed: {}", id, state.spec.getName(), e.toString());
    }
  }

  private void shutDown() {
    Thread.interrupted();
    if (nodeLost) {
      allStates().forEach(s -> {
        if (s.process != null) {
          s.process.signalAll("KILL");
          awaitGone(s.process);
        }
      });
      return;
    }
    long grace = kubelet.closing() ? 0 : requestedGrace != null ? requestedGrace : graceSeconds();
    if (grace == 0) {
      LOG.info("{}: deleted with grace period 0: killing every process now", id);
    }
    for (ContainerState state : allStates()) {
      stopContainer(state, grace);
    }
    LOG.info("{}: stopped", id);
  }

  private long graceSeconds() {
    Long grace = pod.getSpec().getTerminationGracePeriodSeconds();
    return grace == null ? 30 : grace;
  }

  private Path log(ContainerState state) {
    return directory.resolve("logs").resolve(state.spec.getName() + ".log");
  }

  Path logDirectory() {
    return directory.resolve("logs");
  }

  private Pod podWithIp() {
    Pod copy = new io.fabric8.kubernetes.api.model.PodBuilder(pod).build();
    if (copy.getStatus() == null) {
      copy.setStatus(new PodStatus());
    }
    copy.getStatus().setPodIP(ip);
    copy.getStatus().setHostIP(kubelet.nodeIp());
    return copy;
  }

  /** Whether the API still holds the Ready condition and phase this kubelet wrote. */
  private static boolean readyAsWritten(Pod latest, PodStatus status) {
    if (latest.getStatus() == null || !java.util.Objects.equals(latest.getStatus().getPhase(), status.getPhase())) {
      return false;
    }
    java.util.function.Function<PodStatus, String> ready = st -> st.getConditions() == null ? null
        : st.getConditions().stream().filter(c -> "Ready".equals(c.getType())).map(c -> c.getStatus()).findFirst()
            .orElse(null);
    return java.util.Objects.equals(ready.apply(latest.getStatus()), ready.apply(status));
  }

  private void writeStatus() {
    if (nodeLost || terminating || !kubelet.writesToApi()) {
      return;
    }
    boolean initialized = init.values().stream().allMatch(s -> s.completed);
    boolean running = initialized && main.values().stream().allMatch(s -> s.process != null);
    boolean ready = initialized && main.values().stream().allMatch(s -> s.process != null && s.process.alive() && s.ready);
    PodStatus status = new PodStatusBuilder()
        .withPhase(running ? "Running" : "Pending")
        .withPodIP(ip)
        .withPodIPs(new PodIPBuilder().withIp(ip).build())
        .withHostIP(kubelet.nodeIp())
        .withStartTime(startTime)
        .withConditions(condition("PodScheduled", true, null), condition("Initialized", initialized, null),
            condition("ContainersReady", ready, null), condition("Ready", ready, waitingMessage))
        .withInitContainerStatuses(init.values().stream().map(this::containerStatus).toList())
        .withContainerStatuses(main.values().stream().map(this::containerStatus).toList())
        .build();
    // As the kubelet's status manager: write what changed, and every 10 s compare with what the API
    // holds, because others write there too (the node-lifecycle controller marks every pod of a node
    // not ready when the node's heartbeats stop, as during an API server outage, and the kubelet puts
    // it right once it runs again).
    long now = System.currentTimeMillis();
    boolean recheck = now - writtenAt > 10_000;
    if (status.equals(written) && !recheck) {
      return;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        Pod latest = kubelet.client().pods().inNamespace(pod.getMetadata().getNamespace())
            .withName(pod.getMetadata().getName()).get();
        if (latest == null || !uid().equals(latest.getMetadata().getUid())) {
          return;
        }
        if (status.equals(written) && readyAsWritten(latest, status)) {
          writtenAt = now;
          return;
        }
        latest.setStatus(status);
        kubelet.client().pods().resource(latest).updateStatus();
        written = status;
        writtenAt = now;
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          LOG.debug("{}: status update failed: {}", id, e.getMessage());
          return;
        }
      }
    }
  }

  private PodCondition condition(String type, boolean value, String message) {
    return new PodConditionBuilder().withType(type).withStatus(value ? "True" : "False")
        .withReason(value || message == null ? null : "ContainersNotReady").withMessage(value ? null : message)
        .build();
  }

  private ContainerStatus containerStatus(ContainerState s) {
    ContainerStateBuilder state = new ContainerStateBuilder();
    if (s.process != null && s.process.alive()) {
      state.withNewRunning().withStartedAt(s.startedAt).endRunning();
    } else if (s.completed || (s.lastExit != null && s.process != null)) {
      state.withNewTerminated().withExitCode(s.lastExit).withReason(s.lastExit != null && s.lastExit == 0
          ? "Completed" : "Error").withMessage(volumes.terminationMessage(s.spec)).endTerminated();
    } else {
      state.withNewWaiting().withReason(s.waitingReason).withMessage(waitingMessage).endWaiting();
    }
    return new ContainerStatusBuilder()
        .withName(s.spec.getName())
        .withImage(s.spec.getImage())
        .withReady(s.ready && s.process != null && s.process.alive())
        .withStarted(s.process != null && s.process.alive())
        .withRestartCount(s.restarts)
        .withState(state.build())
        .build();
  }

  private static long backoff(int restarts) {
    return Math.min(MAX_BACKOFF_MS, 1000L << Math.min(restarts - 1, 10));
  }

  private static long seconds(Integer value, int defaultSeconds) {
    return (value == null ? defaultSeconds : value) * 1000L;
  }

  private static int threshold(Probe probe) {
    return probe.getFailureThreshold() == null ? 3 : probe.getFailureThreshold();
  }

  private static void sleep(long millis) throws InterruptedException {
    Thread.sleep(millis);
  }
}
