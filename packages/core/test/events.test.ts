/**
 * The export's events column read straight into events (`internal/events.ts`), against the events it was
 * rendered from; text of another shape or broken text is left to the general reading (`undefined`), never
 * read into something else.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { Json, Timestamp } from "../src/index.js"
import * as Events from "../src/internal/events.js"
import type { CorrectionEvent } from "../src/Sample.js"
import * as Arb from "./arbitraries.js"

/** The column as PostgreSQL's `json_agg(json_build_array(…))::text` writes it, or compact, or spaced out. */
const column = (events: ReadonlyArray<CorrectionEvent>, gap: string): string => {
  const slot = (v: Json.Json | undefined) => (v === undefined ? "null" : `[${Arb.jsonbText(v)}]`)
  const one = (e: CorrectionEvent) =>
    `[${[
      JSON.stringify(e.id),
      JSON.stringify(e.fieldPath),
      slot(e.oldValue),
      slot(e.newValue),
      JSON.stringify(e.correctedBy),
      JSON.stringify(e.reason),
      JSON.stringify(Timestamp.format(e.correctedAt))
    ].join(`,${gap}`)}]`
  return `[${events.map(one).join(`,${gap}`)}]`
}

/** Events as plain data, values as their canonical text: what equality of two event lists means here. */
const plain = (events: ReadonlyArray<CorrectionEvent>) =>
  events.map((e) => ({
    ...e,
    oldValue: e.oldValue === undefined ? undefined : Json.stringify(e.oldValue),
    newValue: e.newValue === undefined ? undefined : Json.stringify(e.newValue)
  }))

/** The general reading, independently: the whole text parsed, then each 7-element array taken apart. */
const general = (text: string) =>
  Either.map(Json.parse(text), (list) =>
    (list as ReadonlyArray<ReadonlyArray<Json.Json>>).map((e) => ({
      id: e[0],
      fieldPath: e[1],
      oldValue: e[2] === null ? undefined : Json.stringify((e[2] as Json.JsonArray)[0]),
      newValue: e[3] === null ? undefined : Json.stringify((e[3] as Json.JsonArray)[0]),
      correctedBy: e[4],
      reason: e[5],
      correctedAt: Either.getOrThrow(Timestamp.parse(e[6] as string))
    }))
  )

const trail = fc
  .tuple(Arb.result, fc.array(Arb.step, { minLength: 1, maxLength: 5 }), fc.option(Arb.text, { nil: null }))
  .map(([initial, steps, reason]) => Arb.buildTrail(initial, steps).events.map((e) => ({ ...e, reason })))
  .filter((events) => events.length > 0)

describe("the events column read straight into events", () => {
  it("gives the events it was written from, in PostgreSQL's spacing and without", () => {
    fc.assert(
      fc.property(trail, fc.constantFrom(" ", "", "\n "), (events, gap) => {
        expect(plain(Events.read(column(events, gap)) ?? [])).toEqual(plain(events))
      }),
      { numRuns: 500 }
    )
  })

  it("reads broken or other text as the general reading does, or leaves it to it", () => {
    const broken = fc
      .tuple(
        trail,
        fc.nat(),
        fc.nat({ max: 3 }),
        fc.constantFrom("", ",", "]", "[", '"', "\\", "x", "null", "1")
      )
      .map(([events, at, drop, insert]) => {
        const text = column(events, " ")
        const i = at % (text.length + 1)
        return text.slice(0, i) + insert + text.slice(i + drop)
      })
    let left = 0
    fc.assert(
      fc.property(broken, (text) => {
        const read = Events.read(text)
        if (read === undefined) left++
        else expect(plain(read)).toEqual(Either.getOrThrow(general(text)))
      }),
      { numRuns: 1000 }
    )
    // Most damage is left to the general reading, which names it.
    expect(left).toBeGreaterThan(500)
  })
})
