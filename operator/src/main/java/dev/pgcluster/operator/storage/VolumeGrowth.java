package dev.pgcluster.operator.storage;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Pure: growing the instances' data volumes to spec.storage.size. The StatefulSet's claim template is
 * immutable (a new instance's claim starts at the size the cluster was created with), so each claim is
 * grown on its own: its request raised, then its volume grown by the storage driver. A claim requesting
 * more than the spec (grown by hand) is left alone; volumes never shrink.
 */
public final class VolumeGrowth {
  private VolumeGrowth() {}

  /** A data claim: its instance, the size it requests, the size it has (status.capacity; null until bound). */
  public record Claim(String instance, String name, String requested, String capacity) {}

  /**
   * Where growth stands: the claims whose request is below {@code wanted}, those requesting it whose
   * volume has not grown yet, and why the API server last refused to raise a request (null if it did not).
   */
  public record Status(String wanted, List<Claim> claims, List<Claim> toGrow, List<Claim> growing, String refusal) {
    public static final Status NONE = new Status(null, List.of(), List.of(), List.of(), null);

    /** The size the instance's volume has, when known. */
    public Optional<String> capacity(String instance) {
      return claims.stream().filter(c -> c.instance().equals(instance) && c.capacity() != null)
          .map(Claim::capacity).findFirst();
    }

    /**
     * The growing claims of these instances: a claim kept from a scale-down is mounted by no pod, and on
     * a real cluster its capacity changes only once one mounts it (the file system grows then).
     */
    public List<Claim> growingAmong(java.util.Set<String> instances) {
      return growing.stream().filter(c -> instances.contains(c.instance())).toList();
    }

    /** One line for the Progressing condition. */
    public String describe(java.util.Set<String> instances) {
      return "growing the data volumes to " + wanted + ": " + growingAmong(instances).stream()
          .map(c -> c.name() + " (" + (c.capacity() == null ? "not bound" : c.capacity()) + ")")
          .collect(Collectors.joining(", "));
    }
  }

  /** The plan for {@code wanted} (spec.storage.size) and the claims as observed. */
  public static Status plan(String wanted, List<Claim> claims, String refusal) {
    BigDecimal size = bytes(wanted);
    // Only a bound claim's request may change (the API server refuses others): a new one waits to be bound.
    List<Claim> toGrow = claims.stream()
        .filter(c -> c.capacity() != null && bytes(c.requested()).compareTo(size) < 0).toList();
    List<Claim> growing = claims.stream()
        .filter(c -> bytes(c.requested()).compareTo(size) >= 0)
        .filter(c -> c.capacity() != null && bytes(c.capacity()).compareTo(size) < 0)
        .toList();
    return new Status(wanted, List.copyOf(claims), toGrow, growing, refusal);
  }

  /** The same claims after {@code grown} had their request raised to {@code wanted}. */
  public static List<Claim> raised(List<Claim> claims, List<Claim> grown, String wanted) {
    return claims.stream().map(c -> grown.stream().anyMatch(g -> g.name().equals(c.name()))
        ? new Claim(c.instance(), c.name(), wanted, c.capacity()) : c).toList();
  }

  private static BigDecimal bytes(String quantity) {
    return quantity == null ? BigDecimal.ZERO : Quantity.getAmountInBytes(new Quantity(quantity));
  }
}
