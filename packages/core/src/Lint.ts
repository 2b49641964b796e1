/**
 * A corpus that checks itself (contract §13): four checks over the jobs an export with a filter holds,
 * read in one snapshot.
 *
 * - `letter_conflict`: one letter (jobs with one letter key, `Split.key`) with two ground truths.
 * - `person_conflict`: one NRP with two or more names across the corpus.
 * - `reverted`: a field corrected back and forth until it ended where the pipeline started.
 * - `nrp_format`: an NRP that is not 8 digits (police) or 18 (civil servant).
 *
 * One pass over the samples in export order keeps, per letter, how many jobs it has, its first 20 and
 * its answers (a digest of each different final result, deep equality of §3: numbers by decimal value,
 * object keys unordered; up to 20), per NRP its names and their jobs, and the first 20 findings of the
 * per-job checks; the answers of the letters quoted as examples are then read again in the same snapshot
 * to name the paths at which they part. Memory grows with the letters (their keys) and the distinct NRPs
 * (a number per table row, a name per NRP), not with the results.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Effect, type Either, Schema } from "effect"
import * as Correction from "./Correction.js"
import * as Export from "./Export.js"
import * as FieldPath from "./FieldPath.js"
import type * as Filter from "./Filter.js"
import { byteOrder } from "./internal/order.js"
import * as Json from "./Json.js"
import type * as Replay from "./Replay.js"
import type { Sample } from "./Sample.js"
import * as Split from "./Split.js"

/** The examples a check quotes at most. @since 0.1.0 */
export const EXAMPLES = 20

/** ASCII whitespace: space, tab, line feed, vertical tab, form feed, carriage return. */
const SPACE = /[ \t\n\v\f\r]/g
const SPACES = /[ \t\n\v\f\r]+/g

/** An NRP as `person_conflict` compares it: ASCII whitespace removed. @since 0.1.0 */
export const nrpKey = (nrp: string): string => nrp.replace(SPACE, "")

/**
 * A name as `person_conflict` compares it: runs of ASCII whitespace one space, trimmed, ASCII letters
 * lower-cased.
 *
 * @since 0.1.0
 */
export const nameKey = (nama: string): string =>
  nama
    .replace(SPACES, " ")
    .replace(/^ | $/g, "")
    .replace(/[A-Z]+/g, (s) => s.toLowerCase())

/** Whether an NRP value is well formed: a string of exactly 8 or 18 ASCII digits. @since 0.1.0 */
export const isNrp = (value: Json.Json): boolean =>
  typeof value === "string" && /^(?:\d{8}|\d{18})$/.test(value)

// ---------------------------------------------------------------------------------------------------------
// the report
// ---------------------------------------------------------------------------------------------------------

/** @since 0.1.0 */
export class LetterConflict extends Schema.Class<LetterConflict>("LetterConflict")({
  key: Schema.String,
  jobs: Schema.Number.annotations({ description: "how many jobs the letter has" }),
  job_ids: Schema.Array(Schema.String).annotations({
    description: `its first ${EXAMPLES} jobs, in export order`
  }),
  fields: Schema.Array(Schema.String).annotations({
    description:
      `the first ${EXAMPLES} paths (§2) at which its answers part: a leaf whose values differ, or a value ` +
      "one answer has and another has not; in the results' order (keys in byte order, rows by index)"
  })
}) {}

/** @since 0.1.0 */
export class Name extends Schema.Class<Name>("Name")({
  name: Schema.String.annotations({ description: "as compared: whitespace collapsed, lower-cased" }),
  jobs: Schema.Number.annotations({ description: "how many jobs name the NRP so" }),
  job_ids: Schema.Array(Schema.String).annotations({ description: `the first ${EXAMPLES}, in export order` })
}) {}

/** @since 0.1.0 */
export class PersonConflict extends Schema.Class<PersonConflict>("PersonConflict")({
  nrp: Schema.String,
  name_count: Schema.Number.annotations({ description: "how many names the NRP goes by" }),
  names: Schema.Array(Name).annotations({ description: `the first ${EXAMPLES}, by their first job` })
}) {}

/** @since 0.1.0 */
export class Reverted extends Schema.Class<Reverted>("Reverted")({
  job_id: Schema.String,
  field_path: Schema.String,
  events: Schema.Number.annotations({ description: "how many of the job's events corrected the path" })
}) {}

/** @since 0.1.0 */
export class NrpFormat extends Schema.Class<NrpFormat>("NrpFormat")({
  job_id: Schema.String,
  field_path: Schema.String,
  value: Schema.String.annotations({ description: "the value as canonical JSON text (§6)" })
}) {}

const check = <A, I>(example: Schema.Schema<A, I>) =>
  Schema.Struct({
    count: Schema.Number,
    examples: Schema.Array(example).annotations({ description: `the first ${EXAMPLES}, in export order` })
  })

/**
 * The lint of a corpus: how many jobs and letters it holds (and letters with copies), and each check's
 * count and first examples.
 *
 * @since 0.1.0
 */
export class Report extends Schema.Class<Report>("LintReport")({
  jobs: Schema.Number,
  letters: Schema.Number.annotations({ description: "distinct letter keys among the jobs" }),
  letters_with_copies: Schema.Number.annotations({
    description: "letters with two or more jobs: how much of the corpus is duplicated"
  }),
  letter_conflict: check(LetterConflict),
  person_conflict: check(PersonConflict),
  reverted: check(Reverted),
  nrp_format: check(NrpFormat)
}) {}

/** Whether any check found something (the CLI then exits 3). @since 0.1.0 */
export const found = (r: Report): boolean =>
  r.letter_conflict.count + r.person_conflict.count + r.reverted.count + r.nrp_format.count > 0

/** The report as one JSON line, its members in the schema's order. @since 0.1.0 */
export const encode = (r: typeof Report.Encoded): string => `${JSON.stringify(r)}\n`

// ---------------------------------------------------------------------------------------------------------
// the pass
// ---------------------------------------------------------------------------------------------------------

/** Emitted in place of a container's end: the text a digest reads. */
class Token {
  constructor(readonly text: string) {}
}

/**
 * A digest of a result under deep equality (§3): equal digests for equal results (numbers by their
 * decimal value, object keys in sorted order). Iterative: any depth digests.
 */
const digest = (value: Correction.Slot): string => {
  if (value === undefined) return "absent"
  const hash = createHash("sha256")
  const pending: Array<Json.Json | Token> = [value]
  while (pending.length > 0) {
    const v = pending.pop()!
    if (v instanceof Token) hash.update(v.text)
    else if (v === null) hash.update("n")
    else if (typeof v === "boolean") hash.update(v ? "t" : "f")
    else if (typeof v === "string") hash.update(`s${JSON.stringify(v)}`)
    else if (v instanceof Json.JsonNumber) hash.update(`d${v.decimalKey};`)
    else if (Json.isArray(v)) {
      hash.update("[")
      pending.push(new Token("]"))
      for (let i = v.length - 1; i >= 0; i--) pending.push(v[i])
    } else {
      hash.update("{")
      pending.push(new Token("}"))
      const keys = [...v.keys()].sort().reverse()
      for (const k of keys) pending.push(v.get(k)!, new Token(`k${JSON.stringify(k)}`))
    }
  }
  return hash.digest("base64")
}

/**
 * Adds to `out` the paths at which `a` and `b` part (a scalar that differs, a value one has and the other
 * has not), walking both at once in the results' order (keys in byte order, rows by index), until `out`
 * holds `limit`. Iterative, and a path's text is made only when it is added: any depth and size walks in
 * time linear in the results.
 */
const parting = (a: Correction.Slot, b: Correction.Slot, out: Set<string>, limit: number): void => {
  /** Each visited value's segment and parent, for the text of a path that is added (§2's `print`). */
  const nodes: Array<{ readonly segment: FieldPath.Segment; readonly parent: number }> = [
    { segment: FieldPath.index(0), parent: -1 } // the root: never printed
  ]
  const pathOf = (node: number): string => {
    const parts: Array<FieldPath.Segment> = []
    for (let n = node; n > 0; n = nodes[n].parent) parts.push(nodes[n].segment)
    return FieldPath.print(parts.reverse())
  }
  const pending: Array<readonly [Correction.Slot, Correction.Slot, number]> = [[a, b, 0]]
  while (pending.length > 0 && out.size < limit) {
    const [x, y, node] = pending.pop()!
    const child = (key: string | number, v: Correction.Slot, w: Correction.Slot) => {
      nodes.push({
        segment: typeof key === "number" ? FieldPath.index(key) : FieldPath.key(key),
        parent: node
      })
      pending.push([v, w, nodes.length - 1])
    }
    if (x !== undefined && y !== undefined && Json.isArray(x) && Json.isArray(y)) {
      for (let i = Math.max(x.length, y.length) - 1; i >= 0; i--) child(i, x[i], y[i])
    } else if (x !== undefined && y !== undefined && Json.isObject(x) && Json.isObject(y)) {
      const keys = [...new Set([...x.keys(), ...y.keys()])].sort(byteOrder).reverse()
      for (const k of keys) child(k, x.get(k), y.get(k))
    } else if (x === undefined ? y !== undefined : y === undefined || !Json.equals(x, y)) {
      out.add(pathOf(node))
    }
  }
}

interface Letter {
  /** How many jobs it has, and the positions of the first `EXAMPLES` in export order. */
  jobs: number
  readonly first: Array<number>
  /**
   * Its answers: each different final result's digest and the position of its first job, up to
   * `EXAMPLES` (more than one: a conflict). The fields that differ are those at which they part.
   */
  readonly answers: Array<{ readonly digest: string; readonly at: number }>
}

/**
 * The names one NRP goes by: the first, and the others once there are any (most NRPs have one name, and
 * a map each would be most of the memory).
 */
interface Person {
  readonly name: string
  /** Positions of the jobs that name it so. */
  readonly jobs: Array<number>
  others: Map<string, Array<number>> | undefined
}

/** Adds the job at `at` to `jobs`, once. */
const add = (jobs: Array<number>, at: number) => {
  if (jobs[jobs.length - 1] !== at) jobs.push(at)
}

interface State {
  /** Job ids in export order. */
  readonly ids: Array<string>
  readonly letters: Map<string, Letter>
  /** NRP → its names and the positions of the jobs that name it so. */
  readonly people: Map<string, Person>
  reverted: number
  readonly revertedExamples: Array<Reverted>
  nrpFormat: number
  readonly nrpFormatExamples: Array<NrpFormat>
}

const initial = (): State => ({
  ids: [],
  letters: new Map(),
  people: new Map(),
  reverted: 0,
  revertedExamples: [],
  nrpFormat: 0,
  nrpFormatExamples: []
})

/** The rows of a result's `personel` table: each with its index. */
const personel = (result: Correction.Slot): ReadonlyArray<readonly [Json.Json, number]> => {
  const table = result !== undefined && Json.isObject(result) ? result.get("personel") : undefined
  return table !== undefined && Json.isArray(table) ? table.map((row, i) => [row, i] as const) : []
}

const step = (state: State, sample: Sample): State => {
  const at = state.ids.length
  state.ids.push(sample.id)
  const final = sample.result

  const key = Split.keyOf("letter", sample.id, final)
  const letter = state.letters.get(key)
  if (letter === undefined)
    state.letters.set(key, { jobs: 1, first: [at], answers: [{ digest: digest(final), at }] })
  else {
    letter.jobs++
    if (letter.first.length < EXAMPLES) letter.first.push(at)
    if (letter.answers.length < EXAMPLES) {
      const d = digest(final)
      if (!letter.answers.some((answer) => answer.digest === d)) letter.answers.push({ digest: d, at })
    }
  }

  for (const [row, i] of personel(final)) {
    if (!Json.isObject(row)) continue
    const nrp = row.get("nrp")
    if (nrp !== undefined && !isNrp(nrp)) {
      state.nrpFormat++
      if (state.nrpFormatExamples.length < EXAMPLES)
        state.nrpFormatExamples.push(
          new NrpFormat({ job_id: sample.id, field_path: `personel[${i}].nrp`, value: Json.stringify(nrp) })
        )
    }
    const nama = row.get("nama")
    if (typeof nrp !== "string" || typeof nama !== "string") continue
    const number = nrpKey(nrp)
    const name = nameKey(nama)
    // Blank is no one: an NRP or a name with nothing left (nrp_format still counts a blank NRP).
    if (number === "" || name === "") continue
    const person = state.people.get(number)
    if (person === undefined) state.people.set(number, { name, jobs: [at], others: undefined })
    else if (person.name === name) add(person.jobs, at)
    else {
      person.others ??= new Map()
      const jobs = person.others.get(name) ?? []
      person.others.set(name, jobs)
      add(jobs, at)
    }
  }

  // A path is the same path however it was spelled (`header.perihal`, `header["perihal"]`).
  const counted = new Map<string, { path: FieldPath.FieldPath; events: number }>()
  for (const event of sample.events) {
    const path = FieldPath.parse(event.fieldPath)
    if (path._tag === "Left") continue // replay has already refused it
    const text = FieldPath.print(
      path.right.segments.map((s) => (s._tag === "Key" ? FieldPath.key(s.key) : s))
    )
    const seen = counted.get(text)
    counted.set(text, { path: path.right, events: (seen?.events ?? 0) + 1 })
  }
  const reverted = [...counted]
    .filter(([, { path, events }]) => {
      if (events < 2) return false
      const before = Correction.read(sample.initialResult, path)
      const after = Correction.read(final, path)
      return before === undefined || after === undefined ? before === after : Json.equals(before, after)
    })
    .sort(([a], [b]) => byteOrder(a, b))
  state.reverted += reverted.length
  for (const [text, { events }] of reverted) {
    if (state.revertedExamples.length === EXAMPLES) break
    state.revertedExamples.push(new Reverted({ job_id: sample.id, field_path: text, events }))
  }
  return state
}

/** The first `EXAMPLES` paths at which a letter's answers part from its first. */
const fieldsOf = (answers: ReadonlyArray<Correction.Slot>): Array<string> => {
  const out = new Set<string>()
  for (const answer of answers.slice(1)) parting(answers[0], answer, out, EXAMPLES)
  return [...out]
}

const finish = <E>(
  state: State,
  results: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Correction.Slot>, E>
): Effect.Effect<Report, E> => {
  const conflicts = [...state.letters]
    .filter(([, l]) => l.answers.length > 1)
    .sort(([, a], [, b]) => a.first[0] - b.first[0])
  const quoted = conflicts.slice(0, EXAMPLES)
  const people = [...state.people]
    .flatMap(([nrp, p]) =>
      p.others === undefined
        ? []
        : [
            {
              nrp,
              names: [[p.name, p.jobs] as const, ...p.others].sort(
                ([a, x], [b, y]) => x[0] - y[0] || byteOrder(a, b)
              )
            }
          ]
    )
    .sort((a, b) => a.names[0][1][0] - b.names[0][1][0] || byteOrder(a.nrp, b.nrp))
  const idsOf = (jobs: ReadonlyArray<number>) => jobs.map((j) => state.ids[j])
  return Effect.map(
    results(quoted.flatMap(([, l]) => idsOf(l.answers.map((answer) => answer.at)))),
    (found) =>
      new Report({
        jobs: state.ids.length,
        letters: state.letters.size,
        letters_with_copies: [...state.letters.values()].filter((l) => l.jobs > 1).length,
        letter_conflict: {
          count: conflicts.length,
          examples: quoted.map(
            ([key, l]) =>
              new LetterConflict({
                key,
                jobs: l.jobs,
                job_ids: idsOf(l.first),
                fields: fieldsOf(idsOf(l.answers.map((answer) => answer.at)).map((id) => found.get(id)))
              })
          )
        },
        person_conflict: {
          count: people.length,
          examples: people.slice(0, EXAMPLES).map(
            (p) =>
              new PersonConflict({
                nrp: p.nrp,
                name_count: p.names.length,
                names: p.names
                  .slice(0, EXAMPLES)
                  .map(
                    ([name, jobs]) =>
                      new Name({ name, jobs: jobs.length, job_ids: idsOf(jobs.slice(0, EXAMPLES)) })
                  )
              })
          )
        },
        reverted: { count: state.reverted, examples: state.revertedExamples },
        nrp_format: { count: state.nrpFormat, examples: state.nrpFormatExamples }
      })
  )
}

/**
 * The lint of the jobs an export with `filter` holds (its format and input aside), from one snapshot.
 *
 * @since 0.1.0
 */
export const run = (filter: Filter.Filter): Effect.Effect<Report, Export.ExportError, Export.Export> =>
  Effect.flatMap(Export.Export, (exporter) => exporter.inspect(filter, { initial, step, finish }))

/**
 * The lint the coverage report shows, or why there is none: a job it cannot read (a value §6 cannot
 * write, an audit trail that does not replay) is named on the page, which still charts the rest, as it
 * did before lint; the database's own failures fail the page.
 *
 * @since 0.1.0
 */
export const forReport = (
  filter: Filter.Filter
): Effect.Effect<
  Either.Either<Report, string>,
  Exclude<Export.ExportError, Export.InvalidRow | Replay.ReplayError>,
  Export.Export
> => Export.readable(run(filter))
