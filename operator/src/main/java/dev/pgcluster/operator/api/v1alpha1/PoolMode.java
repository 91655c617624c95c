package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** PgBouncer's pool_mode: when a server connection goes back to the pool. */
public enum PoolMode {
  /** When the client disconnects: every client feature works (the default). */
  @JsonProperty("session")
  SESSION,
  /** After each transaction: many clients share few server connections; session state does not carry over. */
  @JsonProperty("transaction")
  TRANSACTION,
  /** After each statement: multi-statement transactions are refused. */
  @JsonProperty("statement")
  STATEMENT,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  /** The value as written in the resource and in pgbouncer.ini. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static PoolMode fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, PoolMode::value, value);
  }
}
