/**
 * Replay on a result's canonical bytes (`internal/replayText.ts`) against replay of the parsed result
 * (`Replay.undo`): the same initial and final bytes whenever the parsed replay succeeds, and a refusal
 * (`failed`, which sends the export to the parsed replay for its error) exactly when it fails. A
 * fallback that hid a broken replay on bytes would still export the right lines: these tests look at
 * the bytes path alone.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { Slot } from "../src/Correction.js"
import { Replay } from "../src/index.js"
import { ByteWriter } from "../src/internal/byteWriter.js"
import { writeValue } from "../src/internal/canonical.js"
import * as ReplayText from "../src/internal/replayText.js"
import type { CorrectionEvent } from "../src/Sample.js"
import * as Arb from "./arbitraries.js"

const canonical = (v: Slot): string => {
  if (v === undefined) return "absent"
  const w = new ByteWriter(8)
  writeValue(w, v)
  return w.toString()
}

const textOf = (v: Slot): string | null => (v === undefined ? null : Arb.jsonbText(v))

/** Both replays of `final` (as text) and `events`: the parsed one's result, and the bytes one's. */
const both = (final: Slot, events: ReadonlyArray<CorrectionEvent>) => {
  const parsed = Replay.undo("job", final, events)
  const bytes = ReplayText.undo("job", textOf(final), events)
  return {
    parsed,
    bytes:
      bytes === ReplayText.failed
        ? bytes
        : { initial: canonical(bytes.initial), final: canonical(bytes.final) }
  }
}

const trail = fc
  .tuple(Arb.result, fc.array(Arb.step, { maxLength: 6 }))
  .map(([initial, steps]) => ({ initial, ...Arb.buildTrail(initial, steps) }))

describe("replay on the result's bytes", () => {
  it("gives the initial and final results of replay on the parsed result", () => {
    fc.assert(
      fc.property(trail, ({ initial, events, final }) => {
        const { parsed, bytes } = both(final, events)
        expect(Either.isRight(parsed)).toBe(true)
        expect(bytes).toEqual({ initial: canonical(initial), final: canonical(final) })
      }),
      { numRuns: 1000 }
    )
  })

  it("refuses exactly where replay on the parsed result fails", () => {
    // Another trail's events on this trail's result: mostly paths and values that do not match.
    const mismatched = fc.tuple(trail, trail).map(([a, b]) => ({ final: a.final, events: b.events }))
    let refused = 0
    fc.assert(
      fc.property(mismatched, ({ final, events }) => {
        const { parsed, bytes } = both(final, events)
        if (Either.isLeft(parsed)) {
          refused++
          expect(bytes).toBe(ReplayText.failed)
        } else expect(bytes).toEqual({ initial: canonical(parsed.right), final: canonical(final) })
      }),
      { numRuns: 1000 }
    )
    // The property looked at refusals, not only at trails that happen to apply.
    expect(refused).toBeGreaterThan(100)
  })

  it("refuses a result that is not JSON, and an invalid event, leaving the error to the parsed replay", () => {
    const event = (fieldPath: string): CorrectionEvent => ({
      id: "1",
      fieldPath,
      oldValue: "a",
      newValue: "b",
      correctedBy: "r",
      reason: null,
      correctedAt: { seconds: 0, micros: 0 }
    })
    expect(ReplayText.undo("job", '{"x": "b"', [event("x")])).toBe(ReplayText.failed)
    expect(ReplayText.undo("job", '{"x": "b"}', [event("x[")])).toBe(ReplayText.failed)
    const ok = ReplayText.undo("job", '{"y": [1, 2], "x": "b"}', [event("x")])
    expect(ok === ReplayText.failed ? ok : [canonical(ok.initial), canonical(ok.final)]).toEqual([
      '{"x":"a","y":[1,2]}',
      '{"x":"b","y":[1,2]}'
    ])
  })
})
