package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** How one role of spec.roles (or one the operator created and that is no longer declared) stands. */
public class RoleStatus {
  @JsonPropertyDescription("Role name.")
  public String name;

  @JsonPropertyDescription("present (as declared), absent (dropped, or never created), failed (see message), or"
      + " kept (created by the operator, no longer declared, not dropped).")
  public String state;

  @JsonPropertyDescription("Why a role failed (PostgreSQL's message, or the field in error), or why it was kept.")
  public String message;

  public RoleStatus() {}

  public RoleStatus(String name, String state, String message) {
    this.name = name;
    this.state = state;
    this.message = message;
  }
}
