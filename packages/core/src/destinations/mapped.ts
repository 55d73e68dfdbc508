import type { CompiledMapping } from "../mapping";
import type { Destination, InFlight, Metadata } from "../types";

/** Marks a destination built from a declaration; createTagalong checks it field by field. */
export const MAPPING = Symbol.for("tagalong.mapping");

/** A destination whose in-flight form comes from a declaration. */
export interface MappedDestination extends Destination {
  readonly [MAPPING]: CompiledMapping;
}

/** The in-flight destination a compiled declaration describes. */
export function mappedDestination(mapping: CompiledMapping): MappedDestination {
  return {
    name: mapping.name,
    [MAPPING]: mapping,
    check: mapping.check,
    // The form as it is (its `objects` too): the preparer reads only `headers` and `body`.
    encode: mapping.encode as (m: Metadata) => Partial<InFlight>,
  };
}

/** The compiled declaration behind a destination, if it has one. */
export function mappingOf(d: Destination): CompiledMapping | undefined {
  return (d as Partial<MappedDestination>)[MAPPING];
}
