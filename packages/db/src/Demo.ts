/**
 * Realistic demo data: Sprin jobs with the pipeline's typical mistakes and the reviewers' corrections.
 *
 * Each job starts from a correct letter; the pipeline's output is that letter with mistakes (a missed
 * perihal, an `O` read for a `0`, a wrong rank, a table header read as a row, a missing row). The
 * reviewer's corrections are computed against the current result and applied with the review service's
 * forward step (`Review.plan`: contract §3 and the result schema's check), so demo trails are written
 * exactly as real ones and every one replays to the pipeline's output by construction.
 *
 * The pipeline's `confidence` predicts its mistakes as a real one's does, overconfident below the top, so
 * calibration (contract §14) has something to find; each letter has a number of its own, and about one
 * job in a hundred is a second scan of an earlier job's letter, reviewed again (the copies splits by
 * letter keep together).
 *
 * Each job the pipeline read also gets the letter's OCR text (`job_texts`, README "The letter's text"):
 * the letter as a scan reads, with the OCR's own misreads (the `O` in a number) and the page break that
 * cut a table, but the words the LLM missed or got wrong still there, so a model that reads it can
 * learn what the reviewers fixed.
 *
 * Generation is deterministic for a seed, and rows go in with set-based `INSERT … SELECT unnest(…)`
 * batches: a million jobs load in minutes.
 *
 * @since 0.1.0
 */

import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Correction, FieldPath, Json, Random, Review, Timestamp } from "@ground-truth/core"
import { Data, Effect, Either } from "effect"

const PANGKAT = [
  "BRIPDA",
  "BRIPTU",
  "BRIGPOL",
  "BRIPKA",
  "AIPDA",
  "AIPTU",
  "IPDA",
  "IPTU",
  "AKP",
  "KOMPOL",
  "AKBP",
  "KOMBES"
]
const SATUAN = [
  "Polda Metro Jaya",
  "Polda Jawa Barat",
  "Polda Jawa Timur",
  "Polda Sumatera Utara",
  "Polda Nusa Tenggara Timur",
  "Polres Bogor",
  "Polres Kupang Kota",
  "Polresta Malang Kota",
  "Polrestabes Medan",
  "Polres Jakarta Selatan",
  "Polres Sleman",
  "Polres Badung"
]
const PERIHAL = [
  "Penyelidikan kasus pencurian dengan pemberatan",
  "Penyidikan tindak pidana narkotika",
  "Pengamanan kegiatan ibadah Natal dan Tahun Baru",
  "Pengawalan distribusi logistik pemilu",
  "Penyelidikan kasus penipuan daring",
  "Operasi Keselamatan Lalu Lintas",
  "Pengamanan unjuk rasa di depan gedung DPRD",
  "Penyidikan kasus penganiayaan",
  "Patroli skala besar wilayah hukum",
  "Penyelidikan kasus pencurian kendaraan bermotor"
]
const NAMA_DEPAN = [
  "Budi",
  "Siti",
  "Agus",
  "Dewi",
  "Made",
  "Rudi",
  "Yohanes",
  "Nur",
  "Hendra",
  "Rina",
  "Wayan",
  "Andi"
]
const NAMA_BELAKANG = [
  "Santoso",
  "Rahmawati",
  "Wijaya",
  "Lestari",
  "Suardana",
  "Hartono",
  "Kase",
  "Hidayat",
  "Gunawan"
]
const JABATAN = [
  "Kanit Reskrim",
  "Banit Reskrim",
  "Kasat Lantas",
  "Banit Samapta",
  "Kapolsek",
  "Panit Intelkam",
  "Bintara Sium"
]
const FLAGS = ["llm_fallback", "low_confidence", "ocr_rotated", "table_split"]
const ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
const REVIEWERS = ["reviewer-a", "reviewer-b", "reviewer-c", "ayu.p", "bambang.s"]

/** The demo's generator: reproducible for a seed. */
const random = Random.mulberry32

type Rng = () => number
const pick = <A>(rng: Rng, xs: ReadonlyArray<A>): A => xs[Math.floor(rng() * xs.length)]
const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1))

const obj = (entries: ReadonlyArray<readonly [string, Json.Json]>): Json.JsonObject => Json.object(entries)

/** An event of the demo trail, before it is given an id. */
export interface DemoEvent {
  readonly fieldPath: string
  readonly oldValue: Json.Json | undefined
  readonly newValue: Json.Json | undefined
  readonly correctedBy: string
  readonly reason: string | null
  /** Microseconds since the epoch. */
  readonly correctedAt: number
}

/** A demo job: the `jobs` row and its trail. */
export interface DemoJob {
  readonly id: string
  readonly filename: string
  readonly sourceKind: string
  readonly satuan: string | null
  readonly status: string
  readonly result: Json.Json | undefined
  readonly approved: boolean
  readonly reviewedBy: string | null
  readonly reviewedAt: number | null
  readonly reviewFlags: ReadonlyArray<string>
  readonly confidence: number | null
  readonly createdAt: number
  readonly events: ReadonlyArray<DemoEvent>
  /** The letter's OCR text; `null` when OCR failed. */
  readonly ocrText: string | null
}

const uuid = (rng: Rng, index: number): string => {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")
  const r = () => Math.floor(rng() * 0x10000)
  // Version 4 layout; the index in the last group keeps ids unique for any seed.
  return `${hex(r(), 4)}${hex(r(), 4)}-${hex(r(), 4)}-4${hex(r() & 0xfff, 3)}-${hex(0x8000 | (r() & 0x3fff), 4)}-${hex(index, 12)}`
}

const nrp = (rng: Rng) => String(int(rng, 60, 99)) + String(int(rng, 0, 999999)).padStart(6, "0")

/** The office a letter's number names: numbers are unique to a letter, so copies of one are found. */
const BAGIAN = ["OPS", "SDM", "HUK", "RES", "LOG"]

/** Letter `index`'s content, dated by its first scan: its number is its own (`Sprin/<index + 1>/…`). */
const letter = (rng: Rng, satuan: string, createdAt: number, index: number): Json.JsonObject => {
  const date = new Date(createdAt / 1000)
  const month = date.getUTCMonth()
  const personel = Array.from({ length: int(rng, 1, 8) }, () =>
    obj([
      ["pangkat", pick(rng, PANGKAT)],
      ["nrp", nrp(rng)],
      ["nama", `${pick(rng, NAMA_DEPAN)} ${pick(rng, NAMA_BELAKANG)}`],
      ["jabatan", `${pick(rng, JABATAN)} ${satuan}`]
    ])
  )
  return obj([
    [
      "header",
      obj([
        ["nomor_sprint", `Sprin/${index + 1}/${ROMAN[month]}/${pick(rng, BAGIAN)}/${date.getUTCFullYear()}`],
        ["perihal", pick(rng, PERIHAL)],
        ["tanggal", date.toISOString().slice(0, 10)],
        ["satuan", satuan]
      ])
    ],
    ["personel", personel]
  ])
}

/**
 * The letter with the value at `path` replaced (the path exists in every letter). This is the
 * pipeline's output, not a reviewer's correction: its mistakes (an `O` in an NRP, a table header read as
 * a row) are what the result schema refuses from a reviewer, so it is written with §3 alone.
 */
const set = (v: Json.Json, path: string, value: Json.Json): Json.Json => {
  const parsed = Either.getOrThrow(FieldPath.parse(path))
  const oldValue = Correction.read(v, parsed)!
  // Setting what is already there changes nothing.
  return Json.equals(oldValue, value)
    ? v
    : Either.getOrThrow(Correction.apply(v, { _tag: "Replace", path: parsed, oldValue, newValue: value }))!
}

const get = (v: Json.Json, ...keys: ReadonlyArray<string | number>): Json.Json => {
  let node = v
  for (const k of keys)
    node = typeof k === "number" ? (node as Json.JsonArray)[k] : (node as Json.JsonObject).get(k)!
  return node
}

/** An O read for a 0, or two digits swapped: the OCR mistakes reviewers fix most. */
const misread = (rng: Rng, s: string): string => {
  const zero = s.indexOf("0")
  if (zero >= 0 && rng() < 0.6) return `${s.slice(0, zero)}O${s.slice(zero + 1)}`
  const i = int(rng, 0, s.length - 2)
  return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2)
}

interface State {
  result: Json.Json | undefined
  readonly events: Array<DemoEvent>
}

const TABLE_HEADER = obj([
  ["pangkat", "PANGKAT"],
  ["nrp", "NRP"],
  ["nama", "NAMA"],
  ["jabatan", "JABATAN"]
])

const withoutIndex = (xs: Json.JsonArray, i: number): Json.JsonArray => [
  ...xs.slice(0, i),
  ...xs.slice(i + 1)
]

/**
 * Applies one correction to `state` with core's forward semantics and records it: a replace or a remove
 * of what the path holds now, or (`insert`) an insert before it. A correction that does not apply is a
 * bug in this generator, and fails loudly.
 */
const correct = (
  state: State,
  path: string,
  newValue: Json.Json | undefined,
  meta: { correctedBy: string; reason: string | null; correctedAt: number },
  insert = false
): Either.Either<void, string> => {
  // The review service's own forward step: demo trails are written exactly as real ones.
  const step = Review.plan(state.result, path, newValue, { insert })
  if (Either.isLeft(step)) return Either.left(step.left.message)
  state.result = step.right.result
  state.events.push({ fieldPath: path, oldValue: step.right.oldValue, newValue, ...meta })
  return Either.right(undefined)
}

const BULAN = [
  "Januari",
  "Februari",
  "Maret",
  "April",
  "Mei",
  "Juni",
  "Juli",
  "Agustus",
  "September",
  "Oktober",
  "November",
  "Desember"
]

const text = (v: Json.Json, ...keys: ReadonlyArray<string | number>): string => get(v, ...keys) as string

/**
 * The OCR text of `truth` as the scan reads: `misread` holds the values the OCR got wrong, by path
 * (`header.nomor_sprint`, `personel[2].nrp`), and `pageBreak` the row a page break comes before (the
 * row the table split lost), or -1. Columns come out separated by runs of spaces, as OCR writes a table.
 */
const ocrText = (
  rng: Rng,
  truth: Json.Json,
  misread: ReadonlyMap<string, string>,
  pageBreak: number
): string => {
  const at = (path: string, value: string) => misread.get(path) ?? value
  const satuan = text(truth, "header", "satuan")
  const perihal = text(truth, "header", "perihal")
  const [year, month, day] = text(truth, "header", "tanggal").split("-").map(Number)
  const gap = () => " ".repeat(int(rng, 2, 4))
  const rows = (get(truth, "personel") as Json.JsonArray).flatMap((row, i) => [
    ...(i === pageBreak ? ["", `- ${int(rng, 2, 3)} -`, ""] : []),
    [
      `${i + 1}.`,
      text(row, "pangkat"),
      at(`personel[${i}].nrp`, text(row, "nrp")),
      text(row, "nama"),
      text(row, "jabatan")
    ].join(gap())
  ])
  return [
    "KEPOLISIAN NEGARA REPUBLIK INDONESIA",
    satuan.toUpperCase(),
    "",
    "SURAT PERINTAH",
    `Nomor : ${at("header.nomor_sprint", text(truth, "header", "nomor_sprint"))}`,
    "",
    `Pertimbangan : bahwa dalam rangka ${perihal.charAt(0).toLowerCase()}${perihal.slice(1)}, dipandang perlu`,
    "mengeluarkan Surat Perintah.",
    "Dasar : 1. Undang-Undang Nomor 2 Tahun 2002 tentang Kepolisian Negara Republik Indonesia.",
    `2. Rencana kegiatan ${satuan} Tahun Anggaran ${year}.`,
    "",
    "DIPERINTAHKAN",
    "Kepada :",
    ["NO", "PANGKAT", "NRP", "NAMA", "JABATAN"].join(gap()),
    ...rows,
    `Untuk : ${perihal}.`,
    "Selesai.",
    "",
    `Dikeluarkan di : ${satuan.replace(/^Polda |^Polres(ta|tabes)? /, "")}`,
    `Pada tanggal : ${day} ${BULAN[month - 1]} ${year}`
  ].join("\n")
}

/** Microseconds of 2025-01-01T00:00:00Z; demo jobs are created over the following 180 days. */
const EPOCH_2025 = 1_735_689_600_000_000
const DAY = 86_400_000_000

/** The draws every job starts with, in this order: its id, when it came, its unit, reviewer and fate. */
const opening = (seed: number, index: number) => {
  const rng = random(seed * 1_000_003 + index)
  const id = uuid(rng, index)
  const createdAt = EPOCH_2025 + Math.floor(rng() * 180 * DAY)
  const satuan = pick(rng, SATUAN)
  const sourceKind = rng() < 0.8 ? "pdf" : "image"
  const reviewer = pick(rng, REVIEWERS)
  const failed = rng() < 0.02
  const approved = !failed && rng() < 0.7 / 0.98
  const reviewedAt =
    approved || rng() < 0.1 ? createdAt + int(rng, 1, 72 * 60) * 60_000_000 + int(rng, 0, 999_999) : null
  const named = rng() < 0.9
  return { rng, id, createdAt, satuan, sourceKind, reviewer, failed, approved, reviewedAt, named }
}

/**
 * About one job in a hundred is a second scan of a letter an earlier job (up to 500 before) read, sent
 * again and reviewed again, days later: the copies a split by letter keeps together and lint compares.
 * From a stream of its own, so every other job is drawn as it was before copies existed.
 */
const copyOf = (
  seed: number,
  index: number
): { readonly index: number; readonly after: number } | undefined => {
  const rng = random(seed * 1_000_003 + index + 0x2545f491)
  return index > 0 && rng() < 0.01
    ? { index: index - int(rng, 1, Math.min(index, 500)), after: int(rng, 1, 30 * 24 * 60) * 60_000_000 }
    : undefined
}

interface Letter {
  readonly truth: Json.JsonObject
  readonly satuan: string
  readonly createdAt: number
}

/** The letter job `index` reads (a copy's is its first scan's); `undefined` when its OCR failed. */
const letterOf = (seed: number, index: number): Letter | undefined => {
  const source = copyOf(seed, index)
  const first = source === undefined ? undefined : letterOf(seed, source.index)
  if (first !== undefined) return first
  const o = opening(seed, index)
  return o.failed
    ? undefined
    : { truth: letter(o.rng, o.satuan, o.createdAt, index), satuan: o.satuan, createdAt: o.createdAt }
}

/**
 * The pipeline's confidence in a reading with `mistakes` mistakes, from a uniform draw `u`, as a real
 * pipeline's behaves: near the top when it read the letter right, lower the more it got wrong, yet now
 * and then high on a wrong reading, so a threshold trades the reviews it saves against the mistakes it
 * lets through.
 */
const confidenceOf = (u: number, mistakes: number): number =>
  Math.round((mistakes === 0 ? 0.99 - 0.6 * u ** 4 : 0.97 - 0.62 * u ** (1 / (mistakes + 1))) * 100) / 100

/**
 * The demo job number `index` for `seed`.
 *
 * @since 0.1.0
 */
export const job = (seed: number, index: number): Either.Either<DemoJob, string> => {
  const o = opening(seed, index)
  const { rng, reviewer, sourceKind, failed, approved } = o
  const filename = `${sourceKind === "pdf" ? "sprint" : "scan"}-${String(index).padStart(7, "0")}.${sourceKind === "pdf" ? "pdf" : "jpg"}`
  // A second scan comes after its letter's first, its review as long after it as it would have been.
  const source = copyOf(seed, index)
  const first = source === undefined ? undefined : letterOf(seed, source.index)
  const createdAt = first === undefined || source === undefined ? o.createdAt : first.createdAt + source.after
  const reviewedAt = o.reviewedAt === null ? null : o.reviewedAt + createdAt - o.createdAt
  const satuan = first?.satuan ?? o.satuan
  let clock = createdAt + 60_000_000
  const meta = (reason: string | null) => {
    clock += int(rng, 5, 600) * 1_000_000 + int(rng, 0, 999_999)
    return { correctedBy: reviewer, reason, correctedAt: clock }
  }
  const base = {
    id: o.id,
    filename,
    sourceKind,
    satuan: o.named ? satuan : null,
    reviewedBy: reviewedAt === null ? null : reviewer,
    reviewedAt,
    createdAt
  }

  if (failed) {
    // Hard-failed on OCR: no result. Now and then a reviewer typed the whole letter in by hand.
    const state: State = { result: undefined, events: [] }
    if (rng() < 0.3) {
      const typed = correct(
        state,
        "",
        first?.truth ?? letter(rng, satuan, createdAt, index),
        meta("OCR failed; typed from the scan")
      )
      if (Either.isLeft(typed)) return Either.left(typed.left)
    }
    return Either.right({
      ...base,
      status: "failed",
      result: state.result,
      approved: state.events.length > 0 && approved,
      reviewFlags: ["ocr_failed"],
      confidence: null,
      events: state.events,
      ocrText: null
    })
  }

  const truth = first?.truth ?? letter(rng, satuan, createdAt, index)
  const truthPersonel = get(truth, "personel") as Json.JsonArray
  // The pipeline's output is the truth with mistakes; the reviewer's fixes are computed against the
  // current result, in order, so the trail is whatever a careful reviewer would have recorded.
  let output: Json.Json = truth
  const fixes: Array<(state: State) => Either.Either<void, string>> = []
  // What the OCR itself misread (the LLM copied it), and the row a page break cut off.
  const misreads = new Map<string, string>()
  let pageBreak = -1
  let mistakes = 0
  if (rng() < 0.5 / 0.98) {
    const chosen = new Set<number>()
    for (let k = int(rng, 1, 4); k > 0; k--) chosen.add(int(rng, 0, 6))
    // Field mistakes, at the truth's row indices.
    const fields: Array<readonly [string, Json.Json, string | null]> = []
    if (chosen.has(2)) fields.push(["header.perihal", null, "LLM missed it"])
    if (chosen.has(3)) {
      fields.push([
        "header.nomor_sprint",
        misread(rng, get(truth, "header", "nomor_sprint") as string),
        "OCR misread"
      ])
    }
    const row = () => int(rng, 0, truthPersonel.length - 1)
    if (chosen.has(4)) {
      const r = row()
      fields.push([`personel[${r}].nrp`, misread(rng, get(truthPersonel[r], "nrp") as string), "NRP misread"])
    }
    if (chosen.has(5)) {
      const r = row()
      const rank = PANGKAT.indexOf(get(truthPersonel[r], "pangkat") as string)
      fields.push([`personel[${r}].pangkat`, PANGKAT[(rank + 1) % PANGKAT.length], "wrong rank"])
    }
    if (chosen.has(6)) fields.push([`personel[${row()}].nama`, null, null])
    for (const [path, wrong, reason] of fields) {
      output = set(output, path, wrong)
      if (typeof wrong === "string" && reason !== null && reason.endsWith("misread"))
        misreads.set(path, wrong)
    }
    // Structural mistakes on top: a row the table split lost, a table header read as a first row.
    const lost = chosen.has(1) && truthPersonel.length > 1 ? row() : -1
    pageBreak = lost
    if (lost >= 0)
      output = set(output, "personel", withoutIndex(get(output, "personel") as Json.JsonArray, lost))
    if (chosen.has(0))
      output = set(output, "personel", [TABLE_HEADER, ...(get(output, "personel") as Json.JsonArray)])
    mistakes = fields.length + (lost >= 0 ? 1 : 0) + (chosen.has(0) ? 1 : 0)
    // The reviewer removes the header row, restores the lost row, then fixes what is still wrong.
    if (chosen.has(0))
      fixes.push((s) => correct(s, "personel[0]", undefined, meta("table header read as a row")))
    if (lost >= 0)
      fixes.push((s) =>
        correct(s, `personel[${lost}]`, truthPersonel[lost], meta("row missing from the table"), true)
      )
    for (const [path, , reason] of fields) {
      const right = Correction.read(truth, Either.getOrThrow(FieldPath.parse(path)))!
      fixes.push((s) => {
        const now = Correction.read(s.result, Either.getOrThrow(FieldPath.parse(path)))
        return now !== undefined && Json.equals(now, right)
          ? Either.right(undefined)
          : correct(s, path, right, meta(reason))
      })
    }
  }

  // The reviewer fixes the mistakes in order; an unapproved job may be only part-way through.
  const state: State = { result: output, events: [] }
  const done = approved ? fixes.length : int(rng, 0, fixes.length)
  for (const fix of fixes.slice(0, done)) {
    const r = fix(state)
    if (Either.isLeft(r)) return Either.left(`demo job ${index}: ${r.left}`)
  }
  if (approved && !Json.equals(state.result!, truth))
    return Either.left(`demo job ${index}: corrections do not restore the letter`)
  const flags = FLAGS.filter(() => rng() < 0.15)
  return Either.right({
    ...base,
    status: "done",
    result: state.result,
    approved,
    reviewFlags: flags,
    confidence: confidenceOf(rng(), mistakes),
    events: state.events,
    // A stream of its own, so the rest of the job is what it was before texts were generated.
    ocrText: ocrText(random(seed * 1_000_003 + index + 0x5f3759df), truth, misreads, pageBreak)
  })
}

const micros = (us: number): string => Timestamp.format({ seconds: Math.floor(us / 1e6), micros: us % 1e6 })

const jsonText = (v: Json.Json | undefined): string | null => (v === undefined ? null : Json.stringify(v))

/**
 * A demo job that could not be generated: a bug in the generator, never bad input.
 *
 * @since 0.1.0
 * @category errors
 */
export class DemoError extends Data.TaggedError("DemoError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export interface SeedOptions {
  readonly jobs: number
  readonly seed?: number
  /** The first job number, so that a larger corpus can be built in steps. */
  readonly from?: number
  readonly batchSize?: number
  readonly onProgress?: (inserted: number) => Effect.Effect<void>
  /** Also write each job's OCR text into `job_texts`, which must exist (`Migrations.texts`). */
  readonly texts?: boolean
}

/**
 * Inserts `jobs` demo jobs and their events, in batches of set-based inserts.
 *
 * @since 0.1.0
 */
export const seed = (
  options: SeedOptions
): Effect.Effect<{ jobs: number; events: number }, SqlError | DemoError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const batchSize = options.batchSize ?? 2000
    const from = options.from ?? 0
    let events = 0
    for (let start = 0; start < options.jobs; start += batchSize) {
      const batch: Array<DemoJob> = []
      for (let i = start; i < Math.min(options.jobs, start + batchSize); i++) {
        const j = job(options.seed ?? 1, from + i)
        if (Either.isLeft(j)) return yield* new DemoError({ message: j.left })
        batch.push(j.right)
      }
      const trail = batch.flatMap((j) => j.events.map((e) => [j.id, e] as const))
      events += trail.length
      const read = options.texts === true ? batch.filter((j) => j.ocrText !== null) : []
      yield* sql.withTransaction(
        Effect.zipRight(
          sql.unsafe(
            `INSERT INTO jobs (id, filename, source_kind, satuan, status, result, approved, reviewed_by, reviewed_at,
                               review_flags, confidence, created_at, updated_at)
             SELECT id, filename, source_kind, satuan, status, result, approved, reviewed_by, reviewed_at,
                    review_flags::text[], confidence, created_at, coalesce(reviewed_at, created_at)
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::bool[],
                         $8::text[], $9::timestamptz[], $10::text[], $11::float8[], $12::timestamptz[])
               AS t(id, filename, source_kind, satuan, status, result, approved, reviewed_by, reviewed_at,
                    review_flags, confidence, created_at)`,
            [
              batch.map((j) => j.id),
              batch.map((j) => j.filename),
              batch.map((j) => j.sourceKind),
              batch.map((j) => j.satuan),
              batch.map((j) => j.status),
              batch.map((j) => jsonText(j.result)),
              batch.map((j) => j.approved),
              batch.map((j) => j.reviewedBy),
              batch.map((j) => (j.reviewedAt === null ? null : micros(j.reviewedAt))),
              batch.map((j) => `{${j.reviewFlags.join(",")}}`),
              batch.map((j) => j.confidence),
              batch.map((j) => micros(j.createdAt))
            ]
          ),
          trail.length === 0
            ? Effect.void
            : sql.unsafe(
                `INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, reason, corrected_at)
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[],
                                      $7::timestamptz[])
                 ORDER BY 7`,
                [
                  trail.map(([id]) => id),
                  trail.map(([, e]) => e.fieldPath),
                  trail.map(([, e]) => jsonText(e.oldValue)),
                  trail.map(([, e]) => jsonText(e.newValue)),
                  trail.map(([, e]) => e.correctedBy),
                  trail.map(([, e]) => e.reason),
                  trail.map(([, e]) => micros(e.correctedAt))
                ]
              )
        ).pipe(
          Effect.zipRight(
            read.length === 0
              ? Effect.void
              : sql.unsafe(
                  `INSERT INTO job_texts (job_id, ocr_text) SELECT * FROM unnest($1::uuid[], $2::text[])`,
                  [read.map((j) => j.id), read.map((j) => j.ocrText)]
                )
          )
        )
      )
      if (options.onProgress) yield* options.onProgress(Math.min(options.jobs, start + batchSize))
    }
    return { jobs: options.jobs, events }
  })
