/**
 * Micro-benchmark of the per-sample hot path: replay + canonical serialization of a realistic ~1.5 KB
 * Sprin result with 3 corrections, beside plain `JSON.stringify` (and `JSON.parse` + `JSON.stringify`)
 * of the same data, measured in the same run, alternating, and reported as medians.
 *
 *   pnpm bench:core [--rounds N] [--ms M]
 */
import { Either } from "effect"
import { Json, Jsonl, Replay, Timestamp } from "../src/index.js"
import { ByteWriter } from "../src/internal/byteWriter.js"
import { canonicalize } from "../src/internal/canonical.js"
import type { CorrectionEvent, Job } from "../src/Sample.js"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const ROUNDS = arg("rounds", 7)
const ROUND_MS = arg("ms", 400)

const pangkat = ["BRIPDA", "BRIPTU", "BRIGPOL", "BRIPKA", "AIPDA", "AIPTU", "IPDA", "IPTU", "AKP", "KOMPOL"]
const personel = Array.from(pangkat.slice(0, 7), (p, i) => ({
  pangkat: p,
  nrp: String(77060000 + i * 1013),
  nama: [
    "Budi Santoso",
    "Siti Rahmawati",
    "Agus Wijaya",
    "Dewi Lestari",
    "Made Suardana",
    "Rudi Hartono",
    "Yohanes Kase"
  ][i],
  jabatan: `Banit ${i + 1} Unit Reskrim Polres Kupang Kota`
}))
const finalText = JSON.stringify({
  header: {
    nomor_sprint: "Sprin/1042/VI/RES.1.2./2025/Reskrim",
    perihal: "Penyelidikan kasus pencurian dengan pemberatan di wilayah hukum Polres Kupang Kota",
    tanggal: "2025-06-01",
    satuan: "Polres Kupang Kota",
    dasar: ["Laporan Polisi Nomor LP/B/123/V/2025/SPKT", "Undang-Undang Nomor 2 Tahun 2002"],
    penandatangan: { nama: "Hendra Gunawan", pangkat: "AKBP", nrp: "72030456", jabatan: "Kapolres" },
    masa_berlaku: { mulai: "2025-06-01", selesai: "2025-06-30" },
    "no. urut": 1042,
    skor: 1.5
  },
  personel,
  halaman: 2
})

const j = (text: string) => Either.getOrThrow(Json.parse(text))
const ts = (text: string) => Either.getOrThrow(Timestamp.parse(text))
const event = (
  id: number,
  fieldPath: string,
  oldValue: string | undefined,
  newValue: string | undefined
): CorrectionEvent => ({
  id: String(id),
  fieldPath,
  oldValue: oldValue === undefined ? undefined : j(oldValue),
  newValue: newValue === undefined ? undefined : j(newValue),
  correctedBy: "reviewer-a",
  reason: "LLM missed it",
  correctedAt: ts(`2025-06-01T10:0${id}:00.123456Z`)
})
const events = [
  event(1, "header.perihal", "null", JSON.stringify(JSON.parse(finalText).header.perihal)),
  event(2, "personel[2].nrp", '"7706O2026"', '"77062026"'),
  event(3, "personel[6]", undefined, JSON.stringify(personel[6]))
]
const job: Job = {
  id: "c5da6747-1111-4222-8333-944455556666",
  filename: "sprint-042.pdf",
  sourceKind: "pdf",
  approved: true,
  reviewedBy: "reviewer-a",
  reviewedAt: ts("2025-06-01T10:15:00Z"),
  createdAt: ts("2025-05-28T08:02:17.5Z"),
  result: j(finalText),
  reviewFlags: ["llm_fallback"],
  confidence: 0.78,
  events
}

// The same sample as plain JavaScript, for the JSON.stringify baseline.
const line = Jsonl.line(Either.getOrThrow(Replay.sample(job)))
const plain = JSON.parse(line)
const bytesPerSample = Buffer.byteLength(line)
// The text form, as the database hands it over: final result and event values as jsonb text.
const rowText = {
  result: finalText,
  events: events.map((e) => ({
    ...e,
    oldValue: e.oldValue === undefined ? undefined : Json.stringify(e.oldValue),
    newValue: e.newValue === undefined ? undefined : Json.stringify(e.newValue)
  }))
}

/** The result as PostgreSQL prints a jsonb: keys shortest first, a space after each ':' and ','. */
const pgText = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(pgText).join(", ")}]`
  if (v === null || typeof v !== "object") return JSON.stringify(v)
  const keys = Object.keys(v).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${pgText((v as Record<string, unknown>)[k])}`).join(", ")}}`
}
const jsonbText = pgText(JSON.parse(finalText))
const writer = new ByteWriter(64 * 1024)

let sink = 0
const cases: Record<string, () => void> = {
  "replay + serialize": () => {
    sink += Jsonl.line(Either.getOrThrow(Replay.sample(job))).length
  },
  "JSON.stringify (baseline)": () => {
    sink += JSON.stringify(plain).length
  },
  "parse jsonb text + replay + serialize": () => {
    const parsed: Job = {
      ...job,
      result: j(rowText.result),
      events: rowText.events.map((e) => ({
        ...e,
        oldValue: e.oldValue === undefined ? undefined : j(e.oldValue),
        newValue: e.newValue === undefined ? undefined : j(e.newValue)
      }))
    }
    sink += Jsonl.line(Either.getOrThrow(Replay.sample(parsed))).length
  },
  "JSON.parse + JSON.stringify (baseline)": () => {
    const r = JSON.parse(rowText.result)
    const es = rowText.events.map((e) => ({
      ...e,
      oldValue: e.oldValue === undefined ? null : JSON.parse(e.oldValue),
      newValue: e.newValue === undefined ? null : JSON.parse(e.newValue)
    }))
    sink += JSON.stringify({ ...plain, final_result: r, corrections: es }).length
  },
  // The export's path for a job without events: jsonb text straight to canonical bytes.
  "canonicalize jsonb text": () => {
    writer.pos = 0
    canonicalize(writer, jsonbText)
    sink += writer.pos
  },
  "JSON.parse + JSON.stringify of the result (baseline)": () => {
    sink += JSON.stringify(JSON.parse(jsonbText)).length
  }
}

const measure = (f: () => void): number => {
  let n = 0
  const start = performance.now()
  let now = start
  while (now - start < ROUND_MS) {
    for (let i = 0; i < 200; i++) f()
    n += 200
    now = performance.now()
  }
  return (n / (now - start)) * 1000
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

for (const f of Object.values(cases)) measure(f) // warm-up
const rates: Record<string, Array<number>> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, f] of Object.entries(cases)) rates[name].push(measure(f))
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const row = (name: string, baseline?: string) => {
  const m = median(rates[name])
  const ratio = baseline === undefined ? "1.00" : (m / median(rates[baseline])).toFixed(2)
  return `| ${name} | ${fmt(m)} | ${fmt((m * bytesPerSample) / 1e6, 1)} | ${ratio} |`
}
console.log(
  `sample: ${bytesPerSample} bytes, ${events.length} corrections; ${ROUNDS} rounds × ${ROUND_MS} ms, medians; node ${process.version}`
)
console.log("")
console.log("| path | samples/s | MB/s | ratio to its baseline |")
console.log("|---|---:|---:|---:|")
console.log(row("JSON.stringify (baseline)"))
console.log(row("replay + serialize", "JSON.stringify (baseline)"))
console.log(row("JSON.parse + JSON.stringify (baseline)"))
console.log(row("parse jsonb text + replay + serialize", "JSON.parse + JSON.stringify (baseline)"))
console.log(row("JSON.parse + JSON.stringify of the result (baseline)"))
console.log(row("canonicalize jsonb text", "JSON.parse + JSON.stringify of the result (baseline)"))
if (sink === 0) console.log("(no output)")
