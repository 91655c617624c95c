package dev.pgcluster.operator.ha;

/** A physical replication slot on the primary; walStatus "lost" means the standby must be re-cloned. */
public record SlotInfo(String name, boolean active, String walStatus) {
  public boolean lost() {
    return "lost".equals(walStatus);
  }
}
