package dev.pgcluster.sandbox.net;

import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * What kube-proxy and cluster DNS do, on loopback: every Service with a selector gets an address of its
 * own and a {@link TcpProxy} per port whose endpoints are the ready pods its selector matches; Service
 * and pod names resolve through one hosts file per namespace, read by processes in pods through
 * nss_wrapper ({@code LD_PRELOAD}), so no machine file is touched and no root is needed.
 */
public final class ServiceNetwork implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServiceNetwork.class);
  public static final String CLUSTER_DOMAIN = "cluster.local";

  private final AddressPool addresses;
  private final Path dnsDirectory;
  private final Map<String, String> serviceAddresses = new ConcurrentHashMap<>();
  private final Map<String, TcpProxy> proxies = new HashMap<>();
  private final Set<String> cutOff = ConcurrentHashMap.newKeySet();
  private final Map<String, String> writtenHosts = new HashMap<>();

  public ServiceNetwork(AddressPool addresses, Path dnsDirectory) throws IOException {
    this.addresses = addresses;
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

  /** The pod keeps running but no Service forwards to it any more, and open forwarded connections end. */
  public void cutOff(String podIp) {
    cutOff.add(podIp);
    synchronized (this) {
      proxies.values().forEach(p -> p.sever(podIp));
    }
    LOG.info("pod {} cut off the Service network", podIp);
  }

  public void reconnect(String podIp) {
    cutOff.remove(podIp);
  }

  /** Brings proxies, endpoints and hosts files in line with the Services and pods that exist now. */
  public synchronized void sync(List<Service> services, List<Pod> pods) {
    Set<String> wanted = new HashSet<>();
    Map<String, TreeMap<String, List<String>>> hosts = new HashMap<>();
    for (Service service : services) {
      String ns = service.getMetadata().getNamespace();
      String name = service.getMetadata().getName();
      String key = ns + "/" + name;
      Map<String, String> selector = service.getSpec().getSelector();
      boolean headless = "None".equals(service.getSpec().getClusterIP());
      List<Pod> selected = selector == null || selector.isEmpty() ? List.of()
          : pods.stream().filter(p -> ns.equals(p.getMetadata().getNamespace()))
              .filter(p -> matches(selector, p.getMetadata().getLabels())).toList();
      if (headless) {
        boolean notReadyToo = Boolean.TRUE.equals(service.getSpec().getPublishNotReadyAddresses());
        for (Pod pod : selected) {
          String ip = podIp(pod);
          if (ip == null || !(notReadyToo || ready(pod))) {
            continue;
          }
          addNames(hosts, ns, ip, serviceNames(name, ns));
          String hostname = pod.getSpec().getHostname();
          if (hostname != null && name.equals(pod.getSpec().getSubdomain())) {
            addNames(hosts, ns, ip, serviceNames(hostname + "." + name, ns));
          }
        }
        continue;
      }
      String address = serviceAddresses.computeIfAbsent(key, k -> addresses.allocate(5432));
      addNames(hosts, ns, address, serviceNames(name, ns));
      for (ServicePort port : service.getSpec().getPorts()) {
        String proxyKey = key + ":" + port.getPort();
        wanted.add(proxyKey);
        TcpProxy proxy = proxies.computeIfAbsent(proxyKey, k -> openProxy(k, address, port.getPort()));
        if (proxy == null) {
          continue;
        }
        List<TcpProxy.Endpoint> endpoints = new ArrayList<>();
        for (Pod pod : selected) {
          String ip = podIp(pod);
          Integer target = targetPort(port, pod);
          if (ip != null && target != null && ready(pod) && !cutOff.contains(ip)) {
            endpoints.add(new TcpProxy.Endpoint(ip, target));
          }
        }
        if (!endpoints.equals(proxy.endpoints())) {
          LOG.debug("service {} port {} endpoints {}", key, port.getPort(), endpoints);
          proxy.endpoints(endpoints);
        }
      }
    }
    proxies.entrySet().removeIf(e -> {
      if (!wanted.contains(e.getKey())) {
        e.getValue().close();
        return true;
      }
      return false;
    });
    writeHostsFiles(hosts, services);
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

  private static Integer targetPort(ServicePort port, Pod pod) {
    IntOrString target = port.getTargetPort();
    if (target == null) {
      return port.getPort();
    }
    if (target.getIntVal() != null) {
      return target.getIntVal();
    }
    return pod.getSpec().getContainers().stream()
        .flatMap(c -> c.getPorts() == null ? java.util.stream.Stream.<ContainerPort>empty() : c.getPorts().stream())
        .filter(p -> Objects.equals(target.getStrVal(), p.getName()))
        .map(ContainerPort::getContainerPort).findFirst().orElse(null);
  }

  static boolean matches(Map<String, String> selector, Map<String, String> labels) {
    return labels != null && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }

  private static String podIp(Pod pod) {
    return pod.getStatus() == null ? null : pod.getStatus().getPodIP();
  }

  private static boolean ready(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
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
