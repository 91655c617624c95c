package dev.pgcluster.operator.api.v1alpha1;

import java.util.function.Function;

/**
 * Reading the API's enum values tolerantly: any value this operator does not know reads as the enum's
 * UNKNOWN instead of failing. A resource written against a newer CRD must not stop the operator's
 * informer (and with it every cluster); the validator reports it on the resource. Not null: a copy of
 * the resource (JOSDK clones through JSON, leaving nulls out) would take the field's default instead.
 */
final class WireValues {

  private WireValues() {}

  static <E extends Enum<E>> E read(E[] values, E unknown, Function<E, String> wire, String value) {
    for (E known : values) {
      if (known != unknown && wire.apply(known).equals(value)) {
        return known;
      }
    }
    return unknown;
  }
}
