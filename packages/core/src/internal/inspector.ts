/** The shape of `Export.inspect`'s work, shared by the database's export and the in-memory one. */
import type { Effect } from "effect"
import type { Slot } from "../Correction.js"
import type { Sample } from "../Sample.js"

/**
 * What `Export.inspect` runs in one snapshot: `step` sees each sample of the filter in export order (it
 * may update `initial` in place), then `finish` makes the answer, reading jobs' current results by id
 * (`results`: SQL NULL as `undefined`; ids it does not find are left out) from the same snapshot.
 *
 */
export interface Inspector<S, A, E> {
  readonly initial: () => S
  readonly step: (state: S, sample: Sample) => S
  readonly finish: (
    state: S,
    results: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Slot>, E>
  ) => Effect.Effect<A, E>
}
