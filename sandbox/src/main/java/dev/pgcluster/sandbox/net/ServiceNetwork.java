package dev.pgcluster.sandbox.net;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What kube-proxy and cluster DNS do, on the sandbox network: every Service's cluster IP gets a
 * {@link TcpProxy} per port whose endpoints are the ready endpoints of its EndpointSlices (kept by the
 * real EndpointSlice controller, or by the API server for {@code kubernetes}); Service and pod names
 * resolve through one hosts file per namespace, read by processes in pods through
 * nss_wrapper ({@code LD_PRELOAD}), so no machine file is touched and no root is needed.
 */
public final class ServiceNetwork implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServiceNetwork.class);
  public static final String CLUSTER_DOMAIN = "cluster.local";

  private final Path dnsDirectory;
  private final Map<String, String> serviceAddresses = new ConcurrentHashMap<>();
  private final Map<String, TcpProxy> proxies = new HashMap<>();
  private final Set<String> cutOff = ConcurrentHashMap.newKeySet();
  private final Map<String, String> writtenHosts = new HashMap<>();

  public ServiceNetwork(Path dnsDirectory) throws IOException {
    this.dnsDirectory = Files.createDirectories(dnsDirectory);
  }

  /** The hosts file processes of pods in {@code namespace} resolve names with. */
  public Path hostsFile(String namespace) {
    Path file = dnsDirectory.resolve("hosts." + namespace);
    if (!Files.exists(file)) {
      write(file, "");
    }
    return file;
  }

  /** The address of a Service (its "cluster IP"), once the network has seen it. */
  public String serviceAddress(String namespace, String name) {
    return serviceAddresses.get(namespace + "/" + name);
  }

  /**
   * The pod keeps running but no Service forwards to it any more (new connections at once, without
   * waiting for the next sync), and open forwarded connections end.
   */
  public void cutOff(String podIp) {
    cutOff.add(podIp);
    synchronized (this) {
      for (TcpProxy proxy : proxies.values()) {
        proxy.endpoints(proxy.endpoints().stream().filter(e -> !e.ip().equals(podIp)).toList());
        proxy.sever(podIp);
      }
    }
    LOG.info("pod {} cut off the Service network", podIp);
  }

  /**
   * Ends, {@code after} from now, the forwarded connections to {@code podIps} (pods of a lost node). With
   * kube-proxy's DNAT a client talks to the pod itself, and its own dead-peer detection (keepalives,
   * tcp_user_timeout, a socket timeout) ends a connection to a silent node; this proxy acknowledges the
   * client's bytes itself and would hide that forever. {@code after} stands in for that detection, which
   * the instances' connections have (bootstrap.sh: 11 to 15 s).
   */
  public void severLater(List<String> podIps, Duration after) {
    long lostAt = System.nanoTime();
    Thread sever = new Thread(() -> {
      try {
        Thread.sleep(after.toMillis());
      } catch (InterruptedException e) {
        return;
      }
      synchronized (this) {
        for (TcpProxy proxy : proxies.values()) {
          podIps.forEach(ip -> proxy.severOpenedBefore(ip, lostAt));  // a new pod may have the address now
        }
      }
      LOG.info("connections forwarded to {} (a lost node) ended {} s after the loss", podIps, after.toSeconds());
    }, "sever " + podIps);
    sever.setDaemon(true);
    sever.start();
  }

  public void reconnect(String podIp) {
    cutOff.remove(podIp);
  }

  /**
   * Brings proxies, endpoints and hosts files in line with the Services and EndpointSlices that exist now,
   * as kube-proxy and cluster DNS do: a proxy per Service port on its cluster IP, forwarding to the
   * slice endpoints that are ready; names for Services (their cluster IP, or for a headless Service its
   * ready endpoints) and for endpoints with a hostname ({@code pod.service}).
   */
  public synchronized void sync(List<Service> services, List<EndpointSlice> slices) {
    Set<String> wanted = new HashSet<>();
    Map<String, TreeMap<String, List<String>>> hosts = new HashMap<>();
    Map<String, List<EndpointSlice>> slicesByService = new HashMap<>();
    for (EndpointSlice slice : slices) {
      String service = slice.getMetadata().getLabels() == null ? null
          : slice.getMetadata().getLabels().get("kubernetes.io/service-name");
      if (service != null) {
        slicesByService.computeIfAbsent(slice.getMetadata().getNamespace() + "/" + service, k -> new ArrayList<>())
            .add(slice);
      }
    }
    for (Service service : services) {
      String ns = service.getMetadata().getNamespace();
      String name = service.getMetadata().getName();
      String key = ns + "/" + name;
      List<EndpointSlice> own = slicesByService.getOrDefault(key, List.of());
      String clusterIp = service.getSpec().getClusterIP();
      if (clusterIp == null || clusterIp.isEmpty() || "None".equals(clusterIp)) {
        for (EndpointSlice slice : own) {
          for (Endpoint endpoint : endpoints(slice)) {
            if (!ready(endpoint)) {
              continue;
            }
            for (String ip : endpoint.getAddresses()) {
              addNames(hosts, ns, ip, serviceNames(name, ns));
              if (endpoint.getHostname() != null) {
                addNames(hosts, ns, ip, serviceNames(endpoint.getHostname() + "." + name, ns));
              }
            }
          }
        }
        continue;
      }
      serviceAddresses.put(key, clusterIp);
      addNames(hosts, ns, clusterIp, serviceNames(name, ns));
      for (ServicePort port : service.getSpec().getPorts()) {
        String proxyKey = key + ":" + port.getPort();
        wanted.add(proxyKey);
        TcpProxy proxy = proxies.computeIfAbsent(proxyKey, k -> openProxy(k, clusterIp, port.getPort()));
        if (proxy == null) {
          continue;
        }
        List<TcpProxy.Endpoint> endpoints = new ArrayList<>();
        for (EndpointSlice slice : own) {
          Integer target = slicePort(slice, port);
          if (target == null) {
            continue;
          }
          for (Endpoint endpoint : endpoints(slice)) {
            if (ready(endpoint)) {
              endpoint.getAddresses().stream().filter(ip -> !cutOff.contains(ip))
                  .forEach(ip -> endpoints.add(new TcpProxy.Endpoint(ip, target)));
            }
          }
        }
        endpoints.sort(java.util.Comparator.comparing(TcpProxy.Endpoint::toString));
        if (!endpoints.equals(proxy.endpoints())) {
          LOG.debug("service {} port {} endpoints {}", key, port.getPort(), endpoints);
          proxy.endpoints(endpoints);
        }
      }
    }
    serviceAddresses.keySet().removeIf(k -> services.stream()
        .noneMatch(s -> k.equals(s.getMetadata().getNamespace() + "/" + s.getMetadata().getName())));
    proxies.entrySet().removeIf(e -> {
      if (!wanted.contains(e.getKey())) {
        e.getValue().close();
        return true;
      }
      return false;
    });
    writeHostsFiles(hosts, services);
  }

  private static List<Endpoint> endpoints(EndpointSlice slice) {
    return slice.getEndpoints() == null ? List.of() : slice.getEndpoints();
  }

  /** Ready, as kube-proxy reads it: an unset condition counts as ready. */
  private static boolean ready(Endpoint endpoint) {
    return endpoint.getConditions() == null || endpoint.getConditions().getReady() == null
        || endpoint.getConditions().getReady();
  }

  /** The slice's port for a Service port: same name (slices carry the resolved target port). */
  private static Integer slicePort(EndpointSlice slice, ServicePort port) {
    if (slice.getPorts() == null) {
      return null;
    }
    return slice.getPorts().stream()
        .filter(p -> Objects.equals(emptyToNull(p.getName()), emptyToNull(port.getName())))
        .filter(p -> p.getProtocol() == null || p.getProtocol().equals(port.getProtocol() == null ? "TCP" : port.getProtocol()))
        .map(EndpointPort::getPort).filter(Objects::nonNull).findFirst().orElse(null);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  /** Short names resolve only inside the Service's namespace, as with the cluster DNS search path. */
  private static List<String> serviceNames(String name, String ns) {
    return List.of(name, name + "." + ns, name + "." + ns + ".svc", name + "." + ns + ".svc." + CLUSTER_DOMAIN);
  }

  private static void addNames(Map<String, TreeMap<String, List<String>>> hosts, String ns, String ip,
      List<String> names) {
    // The short name goes into the namespace's own file; qualified names into every file.
    hosts.computeIfAbsent(ns, n -> new TreeMap<>()).computeIfAbsent(ip, i -> new ArrayList<>()).add(names.get(0));
    hosts.computeIfAbsent("*", n -> new TreeMap<>()).computeIfAbsent(ip, i -> new ArrayList<>())
        .addAll(names.subList(1, names.size()));
  }

  private void writeHostsFiles(Map<String, TreeMap<String, List<String>>> hosts, List<Service> services) {
    Set<String> namespaces = new HashSet<>(writtenHosts.keySet());
    services.forEach(s -> namespaces.add(s.getMetadata().getNamespace()));
    TreeMap<String, List<String>> everywhere = hosts.getOrDefault("*", new TreeMap<>());
    for (String ns : namespaces) {
      TreeMap<String, List<String>> merged = new TreeMap<>();
      everywhere.forEach((ip, names) -> merged.computeIfAbsent(ip, i -> new ArrayList<>()).addAll(names));
      hosts.getOrDefault(ns, new TreeMap<>())
          .forEach((ip, names) -> merged.computeIfAbsent(ip, i -> new ArrayList<>()).addAll(0, names));
      // nss_wrapper takes no comment lines.
      StringBuilder text = new StringBuilder();
      merged.forEach((ip, names) -> text.append(ip).append(' ').append(String.join(" ", names)).append('\n'));
      if (!text.toString().equals(writtenHosts.get(ns))) {
        write(dnsDirectory.resolve("hosts." + ns), text.toString());
        writtenHosts.put(ns, text.toString());
      }
    }
  }

  private TcpProxy openProxy(String key, String address, int port) {
    try {
      LOG.info("service {} listens on {}:{}", key, address, port);
      return new TcpProxy(key, address, port);
    } catch (IOException e) {
      LOG.error("service {} cannot listen on {}:{}: {}", key, address, port, e.toString());
      return null;
    }
  }

  private static void write(Path file, String text) {
    try {
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, text);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public synchronized void close() {
    proxies.values().forEach(TcpProxy::close);
    proxies.clear();
  }
}
