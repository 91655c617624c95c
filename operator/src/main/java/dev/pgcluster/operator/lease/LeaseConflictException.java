package dev.pgcluster.operator.lease;

/** Someone else wrote the primary Lease first; the caller must re-read and decide again. */
public class LeaseConflictException extends RuntimeException {
  public LeaseConflictException(String message) {
    super(message);
  }
}
