/**
 * Data fidelity, generated: jobs full of the values a lossy path would damage (integers past 2^53,
 * decimals with trailing zeros, astral characters, U+2028/U+2029, every control character but NUL,
 * microsecond timestamps in other offsets), each written into the database in a randomly chosen JSON
 * or SQL spelling, together with the exact line contract §5–§6 says the export must hold for it.
 *
 * The expected lines are built here by string concatenation from the contract's rules, one value at a
 * time; nothing is produced by the code under test.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** A value as it goes into the database (JSON text) and as the export must write it. */
interface Spelled {
  readonly input: string
  readonly canonical: string
}

/** One character: itself, a JSON spelling of it, and its §6 form inside a string. */
interface Character extends Spelled {
  readonly raw: string
}

/** A deterministic generator (a linear congruential one): the same seed, the same data. */
const prng = (seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[int(xs.length)]
  return { next, int, pick }
}
type Prng = ReturnType<typeof prng>

const digits = (r: Prng, n: number) => Array.from({ length: n }, () => String(r.int(10))).join("")

/** Integers of 16 to 40 digits: past 2^53, most past 2^64. PostgreSQL prints them as written. */
const bigInteger = (r: Prng): Spelled => {
  const text = `${r.next() < 0.3 ? "-" : ""}${1 + r.int(9)}${digits(r, 15 + r.int(25))}`
  return { input: text, canonical: text }
}

/** Decimals whose trailing zeros carry the scale (`1.50`, `0.000`, `-12.3400`): kept as written. */
const decimal = (r: Prng): Spelled => {
  const whole = r.next() < 0.3 ? "0" : `${1 + r.int(9)}${digits(r, r.int(8))}`
  const fraction = `${digits(r, r.int(4))}${"0".repeat(1 + r.int(4))}`
  const negative = r.next() < 0.3 && /[1-9]/.test(whole + fraction)
  const text = `${negative ? "-" : ""}${whole}.${fraction}`
  return { input: text, canonical: text }
}

const hex4 = (code: number) => code.toString(16).padStart(4, "0")

/** Characters a careless writer alters, with the ways JSON may spell them and the one way §6 allows. */
const character = (r: Prng): Character => {
  const code = r.pick([
    ...Array.from({ length: 31 }, (_, i) => i + 1), // every control character but NUL
    0x22, // "
    0x5c, // \
    0x2f, // /, which JSON may escape and §6 does not
    0x7f, // DEL: not a JSON control character
    0x2028,
    0x2029,
    0xe9, // é
    0x4e2d, // 中
    0xfeff, // a BOM inside a string is an ordinary character
    0x1f600, // 😀
    0x1d518, // 𝔘
    0x10ffff, // the last code point
    0x41 // A
  ])
  const raw = String.fromCodePoint(code)
  const units = Array.from({ length: raw.length }, (_, i) => raw.charCodeAt(i))
  const escaped = units.map((u) => `\\u${r.next() < 0.5 ? hex4(u) : hex4(u).toUpperCase()}`).join("")
  const short: Record<number, string> = {
    8: "\\b",
    9: "\\t",
    10: "\\n",
    12: "\\f",
    13: "\\r",
    34: '\\"',
    92: "\\\\"
  }
  const canonical = short[code] ?? (code < 0x20 ? `\\u${hex4(code)}` : raw)
  // JSON text may not hold a control character, `"` or `\` raw; anything may be \u-escaped.
  const spellings = [
    escaped,
    ...(code in short ? [short[code]] : []),
    ...(code < 0x20 || code === 0x22 || code === 0x5c ? [] : [raw]),
    ...(code === 0x2f ? ["\\/"] : [])
  ]
  return { input: r.pick(spellings), canonical, raw }
}

/** A JSON string of 0–12 such characters, in a random spelling. */
const string = (r: Prng): Spelled => {
  const chars = Array.from({ length: r.int(13) }, () => character(r))
  return {
    input: `"${chars.map((c) => c.input).join("")}"`,
    canonical: `"${chars.map((c) => c.canonical).join("")}"`
  }
}

/** Raw text (a `text` column), and the JSON string §6 makes of it. */
const text = (r: Prng): { readonly raw: string; readonly canonical: string } => {
  const chars = Array.from({ length: 1 + r.int(12) }, () => character(r))
  return {
    raw: chars.map((c) => c.raw).join(""),
    canonical: `"${chars.map((c) => c.canonical).join("")}"`
  }
}

const value = (r: Prng): Spelled => r.pick([bigInteger, decimal, string])(r)

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/**
 * A time with microseconds, written in a random offset (SQL input), and its §6 form in UTC. The
 * fraction is exact: it never goes through a float.
 */
const timestamp = (r: Prng): { readonly sql: string; readonly canonical: string; readonly order: number } => {
  const utc = Date.UTC(2025, r.int(12), 1 + r.int(28), r.int(24), r.int(60), r.int(60))
  const micros = r.pick([0, r.int(1_000_000), r.int(10) * 100_000, 1, 999_999, r.int(1000) * 1000])
  const fraction = micros === 0 ? "" : `.${pad(micros, 6).replace(/0+$/, "")}`
  const offsetHours = r.pick([0, 7, 8, 9, -5, 14, -12])
  const local = new Date(utc + offsetHours * 3600_000)
  const date = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
  const time = (d: Date) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  const sign = offsetHours < 0 ? "-" : "+"
  return {
    sql: `${date(local)} ${time(local)}.${pad(micros, 6)}${sign}${pad(Math.abs(offsetHours))}`,
    canonical: `"${date(new Date(utc))}T${time(new Date(utc))}${fraction}Z"`,
    // Microseconds since the epoch: below 2^53 for these years, so exact.
    order: utc * 1000 + micros
  }
}

/** A SQL string literal (standard-conforming: only `'` is special). */
const literal = (s: string) => `'${s.replaceAll("'", "''")}'`

/** The optional table of the letters' texts (docs/formats.md, "The letter's text"), as the fixture creates it. */
const JOB_TEXTS =
  "CREATE TABLE IF NOT EXISTS job_texts (job_id uuid PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE, ocr_text text NOT NULL);"

/**
 * `count` jobs from `seed`: the SQL that inserts them (tables must exist and be empty; it creates
 * `job_texts`) and, in export order, the exact line each must export as (`approved_only=false`), `\n`
 * included; `textLines` with the `ocr_text` column (`input=text`), most jobs with a text of the same
 * hostile characters.
 *
 * @since 0.1.0
 */
export const make = (count: number, seed: number) => {
  const r = prng(seed)
  const inserts: Array<string> = [JOB_TEXTS]
  const rows: Array<{
    readonly order: number
    readonly id: string
    readonly line: string
    readonly textLine: string
  }> = []
  for (let i = 0; i < count; i++) {
    const id = `f1de1175-0000-4000-8000-${pad(i, 12)}`
    const filename = text(r)
    const reviewer = text(r)
    const created = timestamp(r)
    const reviewed = timestamp(r)
    // Result {"n": {"d": decimal}, "s": a, "x": b}; two events: x from x0 to b, then s from s0 to a.
    const d = decimal(r)
    const a = value(r)
    const b = value(r)
    const x0 = value(r)
    const s0 = value(r)
    const t1 = timestamp(r)
    const t2 = timestamp(r)
    const [first, second] = t1.order <= t2.order ? [t1, t2] : [t2, t1]
    const confidence = r.pick([null, r.next(), 0.1 + 0.2, 1, 1e-7])
    const ocr = r.next() < 0.7 ? text(r) : null
    inserts.push(
      `INSERT INTO jobs (id, filename, source_kind, status, result, approved, reviewed_by, reviewed_at, review_flags, confidence, created_at, updated_at) VALUES ` +
        `('${id}', ${literal(filename.raw)}, 'pdf', 'done', ${literal(`{"x": ${b.input}, "s": ${a.input}, "n": {"d": ${d.input}}}`)}, ` +
        `${i % 3 !== 0}, ${literal(reviewer.raw)}, '${reviewed.sql}', '{}', ${confidence === null ? "NULL" : String(confidence)}, '${created.sql}', '${created.sql}');`,
      `INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, reason, corrected_at) VALUES ` +
        `('${id}', 'x', ${literal(x0.input)}, ${literal(b.input)}, ${literal(reviewer.raw)}, NULL, '${first.sql}'), ` +
        `('${id}', 's', ${literal(s0.input)}, ${literal(a.input)}, ${literal(reviewer.raw)}, ${literal(filename.raw)}, '${second.sql}');`,
      ...(ocr === null
        ? []
        : [`INSERT INTO job_texts (job_id, ocr_text) VALUES ('${id}', ${literal(ocr.raw)});`])
    )
    const result = (s: Spelled, x: Spelled) =>
      `{"n":{"d":${d.canonical}},"s":${s.canonical},"x":${x.canonical}}`
    const event = (path: string, from: Spelled, to: Spelled, reason: string, at: string) =>
      `{"field_path":"${path}","old_value":${from.canonical},"new_value":${to.canonical},"corrected_by":${reviewer.canonical},"reason":${reason},"corrected_at":${at}}`
    const line =
      `{"job_id":"${id}","filename":${filename.canonical},"source_kind":"pdf","approved":${i % 3 !== 0},` +
      `"reviewed_by":${reviewer.canonical},"reviewed_at":${reviewed.canonical},"created_at":${created.canonical},` +
      `"initial_result":${result(s0, x0)},"final_result":${result(a, b)},` +
      `"corrections":[${event("x", x0, b, "null", first.canonical)},${event("s", s0, a, filename.canonical, second.canonical)}],` +
      `"review_flags":[],"confidence":${confidence === null ? "null" : String(confidence)}}\n`
    const textLine = `${line.slice(0, -2)},"ocr_text":${ocr?.canonical ?? "null"}}\n`
    rows.push({ order: created.order, id, line, textLine })
  }
  rows.sort((x, y) => x.order - y.order || (x.id < y.id ? -1 : 1))
  return {
    sql: inserts.join("\n"),
    lines: rows.map((row) => row.line),
    textLines: rows.map((row) => row.textLine)
  }
}

const occurrences = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0

/**
 * What the expected lines hold, counted from their text: for the tests to print.
 *
 * @since 0.1.0
 */
export const summary = (lines: ReadonlyArray<string>): string => {
  const all = lines.join("")
  return [
    `${lines.length} samples`,
    `${occurrences(all, /(?<=[:,[])-?[1-9]\d{15,}(?=[,}\]])/g)} integers of 16+ digits`,
    `${occurrences(all, /(?<=[:,[])-?\d+\.\d*0(?=[,}\]])/g)} decimals with trailing zeros`,
    `${occurrences(all, /[\u{10000}-\u{10FFFF}]/gu)} astral characters`,
    `${occurrences(all, /[\u2028\u2029]/g)} U+2028/U+2029`,
    `${occurrences(all, /\\u00[01][0-9a-f]|\\[bfnrt]/g)} escaped control characters`,
    `${occurrences(all, /T\d\d:\d\d:\d\d\.\d{1,6}Z/g)} timestamps with a fraction`
  ].join(", ")
}

/**
 * Inserts generated jobs.
 *
 * @since 0.1.0
 */
export const load = (data: { readonly sql: string }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(data.sql))
