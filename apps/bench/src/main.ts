/**
 * `pnpm bench [--jobs N] [--rounds R] [--workers W] [--embedded]`: the export's speed and memory beside PostgreSQL's own.
 *
 * Seeds (once) a dedicated database `gt_bench_<N>` on the server `BENCH_DATABASE_URL` names (default
 * postgres://postgres@127.0.0.1:5432/postgres) with `seed-demo --jobs N`, then runs R rounds, each
 * path in turn:
 * - baseline: `COPY (SELECT json_build_object(…)) TO STDOUT` through psql, the same approved samples
 *   with their corrections aggregated by PostgreSQL, no replay, in the index's order (sorting is
 *   switched off for it: otherwise PostgreSQL sorts the finished JSON and spills it to disk) and
 *   without JIT, as the export runs;
 * - feed: the export's own query (`Export.feedQuery`) as COPY text to psql, its rows discarded: what
 *   reading them costs before Node does any work, the ceiling of the CLI and HTTP paths;
 * - CLI: `ground-truth export --out FILE` (first byte: when the temporary file first grows);
 * - workers: the same with `--workers W` (`--workers`, default 2; PostgreSQL only), its bytes compared;
 * - HTTP: a fresh `pnpm serve` process, its export read by a streaming client;
 * - increment: `ground-truth export --changed-since CURSOR --out FILE` after 1,000 jobs were written
 *   (`UPDATE … SET updated_at = updated_at`: new row versions, the same bytes, so the database stays the
 *   corpus later runs measure), beside the round's full CLI export;
 * and reports medians of rows/s, MB/s, peak RSS, time to first byte and the ratio to the baseline,
 * - eval: `ground-truth eval` of a prediction for every sample of the round-one export (and, once, of a
 *   tenth of them: memory must not follow the file);
 * - Parquet: `ground-truth export --out FILE.parquet` beside `--out FILE.jsonl.gz` (gzip JSONL), the same
 *   samples: rows/s, Node CPU and peak RSS, and the files' sizes, printed as ratios;
 * plus stats latency, the increment's time against the full export's and the CLI's process start, and the
 * CPU seconds per 1,000 samples of the CLI paths, Node's and the database backends' (read from the
 * postmaster's counters of its exited children), with a projection for more cores from them. Writes
 * `bench/results/<jobs>.md` and `.json` and prints the table.
 *
 * `--embedded` measures the embedded default instead (PGlite in `.data/bench-<N>`, no baseline: psql
 * cannot reach it), written to `bench/results/embedded-<jobs>.*`.
 *
 * A benchmark, not a test: its figures are printed, never asserted.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { Export, Filter, Jsonl } from "@ground-truth/core"
import { Database } from "@ground-truth/db"
import { ConfigProvider, Effect } from "effect"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
// Run as files, as `pnpm ground-truth` and `pnpm serve` run them: through the launcher, which sets the heap flags.
const cli = path.join(root, "apps", "cli", "bin", "ground-truth.mjs")
const serve = path.join(root, "apps", "server", "bin", "serve.mjs")

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`bench: --${name} must be a positive integer\n`)
    process.exit(2)
  }
  return value
}
const JOBS = arg("jobs", 100_000)
const ROUNDS = arg("rounds", 3)
const WORKERS = arg("workers", 2)
const EMBEDDED = process.argv.includes("--embedded")
const admin = new URL(process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres")
const database = `gt_bench_${JOBS}`
const url = new URL(admin)
url.pathname = `/${database}`

const psql = (target: URL, sql: string) =>
  execFileSync("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", target.toString(), "-c", sql], {
    encoding: "utf8"
  }).trim()

const dataDir = path.join(root, ".data", `bench-${JOBS}`)

/** The environment the CLI and the server run in: the bench database, or the embedded one. */
const appEnv = (): NodeJS.ProcessEnv => {
  const { DATABASE_URL: _, ...rest } = process.env
  return EMBEDDED ? { ...rest, GROUND_TRUTH_DATA_DIR: dataDir } : { ...rest, DATABASE_URL: url.toString() }
}

const prepareEmbedded = () => {
  const marker = `${dataDir}.jobs`
  if (fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === String(JOBS)) return
  fs.rmSync(dataDir, { recursive: true, force: true })
  // Without the letters' texts: the bench's exports (jsonl, hf) read none, and seeding stays as fast.
  execFileSync(cli, ["seed-demo", "--jobs", String(JOBS), "--no-texts"], {
    env: appEnv(),
    stdio: ["ignore", "ignore", "inherit"]
  })
  fs.writeFileSync(marker, String(JOBS))
}

const prepare = () => {
  if (EMBEDDED) return prepareEmbedded()
  const exists = psql(admin, `SELECT count(*) FROM pg_database WHERE datname = '${database}'`) === "1"
  if (exists && Number(psql(url, "SELECT count(*) FROM jobs")) === JOBS) {
    // A database seeded by an earlier version gets the migrations added since.
    execFileSync(cli, ["migrate"], {
      env: appEnv(),
      stdio: ["ignore", "ignore", "inherit"]
    })
    return
  }
  if (exists) psql(admin, `DROP DATABASE ${database} WITH (FORCE)`)
  psql(admin, `CREATE DATABASE ${database}`)
  // Without the letters' texts: the bench's exports (jsonl, hf) read none, and seeding stays as fast.
  execFileSync(cli, ["seed-demo", "--jobs", String(JOBS), "--no-texts"], {
    env: appEnv(),
    stdio: ["ignore", "ignore", "inherit"]
  })
  psql(url, "VACUUM ANALYZE")
}

/** The baseline: the contract's sample built by PostgreSQL itself, in the export's order. */
const COPY = `COPY (
  SELECT json_build_object(
    'job_id', j.id, 'filename', j.filename, 'source_kind', j.source_kind, 'approved', j.approved,
    'reviewed_by', j.reviewed_by, 'reviewed_at', j.reviewed_at, 'created_at', j.created_at,
    'final_result', j.result,
    'corrections', (SELECT coalesce(json_agg(json_build_object(
        'field_path', c.field_path, 'old_value', c.old_value, 'new_value', c.new_value,
        'corrected_by', c.corrected_by, 'reason', c.reason, 'corrected_at', c.corrected_at
      ) ORDER BY c.corrected_at, c.id), '[]') FROM job_corrections c WHERE c.job_id = j.id),
    'review_flags', j.review_flags, 'confidence', j.confidence)
  FROM jobs j WHERE j.approved ORDER BY j.created_at, j.id
) TO STDOUT`

interface Run {
  readonly seconds: number
  readonly firstByteMs: number
  readonly bytes: number
  readonly rows: number
  readonly peakRssMb: number | null
  /** CPU seconds of the process (all its threads), and of the database backends it used, when known. */
  readonly nodeCpu?: number
  readonly dbCpu?: number | null
}

/**
 * The postmaster's process: the CPU of its children (the backends) is added to its own counters once
 * they exit, which is how a run's database CPU is read. Null where its /proc entry cannot be read.
 */
const postmaster = (): number | null => {
  if (EMBEDDED) return null
  try {
    const backend = Number(psql(url, "SELECT pg_backend_pid()"))
    const stat = fs.readFileSync(`/proc/${backend}/stat`, "utf8")
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
  } catch {
    return null
  }
}

/** CPU seconds the postmaster's exited children have used, or null. */
const childrenCpu = (pid: number | null): number | null => {
  if (pid === null) return null
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const after = fields.slice(fields.lastIndexOf(")") + 2).split(" ")
    // cutime and cstime, fields 16 and 17 of stat (14 and 15 after the name).
    return (Number(after[13]) + Number(after[14])) / CLOCK_TICKS
  } catch {
    return null
  }
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100

const peakRss = (pid: number): number => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024
}

/** Runs a process, reading its standard output as a stream; its peak RSS is read just before it exits. */
const measureStdout = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  new Promise<Run>((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "inherit"] })
    let first = 0
    let bytes = 0
    let rows = 0
    child.stdout.on("data", (chunk: Buffer) => {
      if (first === 0) first = performance.now() - started
      bytes += chunk.length
      rows += Jsonl.countLines(chunk)
    })
    child.on("close", (code) =>
      code === 0
        ? resolve({
            seconds: (performance.now() - started) / 1000,
            firstByteMs: first,
            bytes,
            rows,
            peakRssMb: null
          })
        : reject(new Error(`${command} exited with ${code}`))
    )
  })

/**
 * A `COPY … TO STDOUT` read through psql, as the export runs its statements: no sort (the index gives the
 * order) and no JIT (it costs ~130 ms per statement and gains nothing).
 */
const copyOut = (statement: string) =>
  measureStdout("psql", ["-X", "-q", "-d", url.toString(), "-c", statement], {
    ...process.env,
    PGOPTIONS: "-c enable_sort=off -c jit=off"
  })

const baseline = () => copyOut(COPY)

/**
 * The export's own query (core's `Export.feedQuery`, compiled by the driver the export uses), for the
 * feed baseline.
 */
const feedText = () =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [text, params] = Export.feedQuery(sql, Filter.defaults).compile()
      if (params.length > 0)
        return yield* Effect.dieMessage("the feed query of the default filter has parameters")
      return text
    }).pipe(
      Effect.provide(Database.layer),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", url.toString()]])))
    )
  )

/**
 * The second baseline: the export's query, its rows streamed to a client that discards them (PostgreSQL
 * writing them as COPY text, psql reading them): what reading the export's rows costs before Node does
 * anything, the ceiling of every export.
 */
const feed = (text: string) => copyOut(`COPY (${text}) TO STDOUT`)

/** How long the CLI takes to start and exit doing nothing: part of its time to first byte. */
const cliStart = () => {
  const started = performance.now()
  execFileSync(cli, ["--version"], { stdio: "ignore" })
  return performance.now() - started
}

/**
 * The CLI writing a file; peak RSS from /usr/bin/time, first byte from the growing temporary file. `rows`:
 * the samples, when the file is not lines to count (gzip, Parquet).
 */
const cliExport = (
  out: string,
  extra: ReadonlyArray<string> = [],
  server: number | null = null,
  samples?: number
) =>
  new Promise<Run>((resolve, reject) => {
    const dbBefore = childrenCpu(server)
    const started = performance.now()
    const timing = path.join(os.tmpdir(), `gt-bench-time-${process.pid}`)
    const child = spawn(
      "/usr/bin/time",
      ["-f", "%M %U %S", "-o", timing, cli, "export", "--out", out, ...extra],
      {
        env: appEnv(),
        stdio: ["ignore", "ignore", "inherit"]
      }
    )
    let first = 0
    const dir = path.dirname(out)
    const poll = setInterval(() => {
      if (first !== 0) return
      const partial = fs
        .readdirSync(dir)
        .find((n) => n.startsWith(`.${path.basename(out)}.`) && n.endsWith(".partial"))
      if (partial && fs.statSync(path.join(dir, partial)).size > 0) first = performance.now() - started
    }, 2)
    child.on("close", async (code) => {
      clearInterval(poll)
      if (code !== 0) return reject(new Error(`CLI exited with ${code}`))
      const seconds = (performance.now() - started) / 1000
      const bytes = fs.statSync(out).size
      const rows = samples ?? Jsonl.countLines(fs.readFileSync(out))
      const [rss, user, system] = fs.readFileSync(timing, "utf8").trim().split(" ").map(Number)
      // The backends end once the process has closed their connections; the postmaster reaps them.
      await new Promise((r) => setTimeout(r, 200))
      const dbAfter = childrenCpu(server)
      resolve({
        seconds,
        firstByteMs: first,
        bytes,
        rows,
        peakRssMb: rss / 1024,
        nodeCpu: user + system,
        dbCpu: dbBefore === null || dbAfter === null ? null : dbAfter - dbBefore
      })
    })
  })

/**
 * Predictions for `eval` from an exported corpus: every sample predicted, half by its final result (as
 * `result`), half by its initial one (as a raw `completion`), so scoring does real work on both; and a
 * file of the first tenth of them, for memory's flatness.
 */
const writePredictions = async (corpus: string, rows: number, all: string, tenth: string) => {
  const [a, t] = [fs.createWriteStream(all), fs.createWriteStream(tenth)]
  const write = (stream: fs.WriteStream, line: string) =>
    stream.write(line)
      ? Promise.resolve()
      : new Promise<void>((resolve) => stream.once("drain", () => resolve()))
  let i = 0
  // A line at a time: a corpus of a million samples is larger than a string can be.
  for await (const l of readline.createInterface({
    input: fs.createReadStream(corpus),
    crlfDelay: Number.POSITIVE_INFINITY
  })) {
    const s = JSON.parse(l) as { job_id: string; initial_result: unknown; final_result: unknown }
    const line = `${
      i % 2 === 0
        ? JSON.stringify({ job_id: s.job_id, result: s.final_result })
        : JSON.stringify({ job_id: s.job_id, completion: JSON.stringify(s.initial_result) })
    }\n`
    await write(a, line)
    if (i < Math.ceil(rows / 10)) await write(t, line)
    i++
  }
  await Promise.all([a, t].map((w) => new Promise((resolve) => w.end(resolve))))
  return i
}

/** `ground-truth eval` of a predictions file: its time and peak RSS (from /usr/bin/time). */
const cliEval = (predictions: string) => {
  const timing = path.join(os.tmpdir(), `gt-bench-time-${process.pid}`)
  const started = performance.now()
  execFileSync("/usr/bin/time", ["-f", "%M", "-o", timing, cli, "eval", "--predictions", predictions], {
    env: appEnv(),
    stdio: ["ignore", "ignore", "inherit"]
  })
  return {
    seconds: (performance.now() - started) / 1000,
    peakRssMb: Number(fs.readFileSync(timing, "utf8").trim()) / 1024
  }
}

/** How many jobs an increment follows: written between taking a cursor and asking what changed. */
const CHANGED = 1000

/**
 * A cursor (from an export that selects nothing: the snapshot is what counts), then `CHANGED` approved
 * jobs rewritten as they were, then the increment through the CLI, timed like a full export. PostgreSQL
 * only: psql cannot write to the embedded database.
 */
const cliIncrement = (out: string) => {
  const manifest = `${out}.manifest.json`
  execFileSync(cli, ["export", "--until", "0001-01-02", "--out", `${out}.empty`, "--manifest", manifest], {
    env: appEnv(),
    stdio: ["ignore", "ignore", "inherit"]
  })
  const cursor = JSON.parse(fs.readFileSync(manifest, "utf8")).cursor as string
  const write = `UPDATE jobs SET updated_at = updated_at WHERE id IN (SELECT id FROM jobs WHERE approved ORDER BY random() LIMIT ${CHANGED})`
  psql(url, write)
  return cliExport(out, ["--changed-since", cursor])
}

const startServer = () =>
  new Promise<{ child: ChildProcess; base: string }>((resolve, reject) => {
    const child = spawn(serve, [], {
      env: { ...appEnv(), PORT: "0" },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString("utf8")
      const address = /"address":"(http:\/\/[^"]+)"/.exec(out)
      if (address) resolve({ child, base: address[1] })
    })
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)))
  })

const httpExport = async () => {
  const server = await startServer()
  try {
    const started = performance.now()
    // Plain: the figures compare the corpus's own bytes with COPY's (Node's fetch would ask for gzip).
    const response = await fetch(`${server.base}/api/v1/ground-truth/export`, {
      headers: { "accept-encoding": "identity" }
    })
    const reader = response.body!.getReader()
    let first = 0
    let bytes = 0
    let rows = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (first === 0) first = performance.now() - started
      bytes += value.length
      rows += Jsonl.countLines(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
    }
    const seconds = (performance.now() - started) / 1000
    const stats: Array<number> = []
    for (let i = 0; i < 3; i++) {
      const t = performance.now()
      await (await fetch(`${server.base}/api/v1/ground-truth/stats`)).arrayBuffer()
      stats.push(performance.now() - t)
    }
    return { run: { seconds, firstByteMs: first, bytes, rows, peakRssMb: peakRss(server.child.pid!) }, stats }
  } finally {
    server.child.kill("SIGKILL")
  }
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const main = async () => {
  prepare()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-bench-"))
  const runs: Record<"baseline" | "feed" | "cli" | "workers" | "http", Array<Run>> = {
    baseline: [],
    feed: [],
    cli: [],
    workers: [],
    http: []
  }
  const server = postmaster()
  let sameBytes = true
  const query = EMBEDDED ? "" : await feedText()
  const increments: Array<Run> = []
  const stats: Array<number> = []
  const starts: Array<number> = []
  const evals: Array<{ readonly seconds: number; readonly peakRssMb: number }> = []
  let tenthEval: { readonly seconds: number; readonly peakRssMb: number } | undefined
  let predicted = 0
  const encoded: Record<"gzip" | "parquet", Array<Run>> = { gzip: [], parquet: [] }
  for (let round = 0; round < ROUNDS; round++) {
    if (!EMBEDDED) {
      runs.baseline.push(await baseline())
      runs.feed.push(await feed(query))
    }
    starts.push(cliStart())
    runs.cli.push(await cliExport(path.join(dir, "corpus.jsonl"), [], server))
    if (!EMBEDDED) {
      runs.workers.push(
        await cliExport(path.join(dir, "corpus-workers.jsonl"), ["--workers", String(WORKERS)], server)
      )
      sameBytes &&= fs
        .readFileSync(path.join(dir, "corpus.jsonl"))
        .equals(fs.readFileSync(path.join(dir, "corpus-workers.jsonl")))
    }
    // The same samples compressed two ways, alternating which goes first.
    const samples = runs.cli[round]?.rows
    for (const kind of round % 2 === 0 ? (["gzip", "parquet"] as const) : (["parquet", "gzip"] as const)) {
      const out = path.join(dir, kind === "gzip" ? "corpus.jsonl.gz" : "corpus.parquet")
      encoded[kind].push(await cliExport(out, [], server, samples))
    }
    const [all, tenth] = [path.join(dir, "predictions.jsonl"), path.join(dir, "predictions-tenth.jsonl")]
    if (round === 0) {
      predicted = await writePredictions(path.join(dir, "corpus.jsonl"), runs.cli[0]!.rows, all, tenth)
      tenthEval = cliEval(tenth)
    }
    evals.push(cliEval(all))
    if (!EMBEDDED) increments.push(await cliIncrement(path.join(dir, "increment.jsonl")))
    const http = await httpExport()
    runs.http.push(http.run)
    stats.push(...http.stats)
    process.stderr.write(`round ${round + 1} of ${ROUNDS} done\n`)
  }
  fs.rmSync(dir, { recursive: true, force: true })

  const paths = EMBEDDED
    ? (["cli", "http"] as const)
    : (["baseline", "feed", "cli", "workers", "http"] as const)
  const summary = Object.fromEntries(
    paths.map((name) => {
      const rs = runs[name]
      return [
        name,
        {
          rows: rs[0].rows,
          rowsPerSecond: median(rs.map((r) => r.rows / r.seconds)),
          mbPerSecond: median(rs.map((r) => r.bytes / 1e6 / r.seconds)),
          peakRssMb: rs[0].peakRssMb === null ? null : median(rs.map((r) => r.peakRssMb ?? 0)),
          firstByteMs: median(rs.map((r) => r.firstByteMs))
        }
      ]
    })
  )
  const base = summary.baseline?.rowsPerSecond
  const ceiling = summary.feed?.rowsPerSecond
  const fmt = (n: number, d = 0) =>
    n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d })
  const label = {
    baseline: "COPY (PostgreSQL builds the JSON)",
    feed: "feed (the export's query, rows discarded)",
    cli: "CLI export --out",
    workers: `CLI export --out --workers ${WORKERS}`,
    http: "HTTP export"
  }
  /** Median CPU seconds per 1,000 samples of a path's runs: Node's, the database's, or null. */
  const perThousand = (rs: ReadonlyArray<Run>, of: "nodeCpu" | "dbCpu") =>
    rs.length === 0 || rs.some((r) => r[of] === undefined || r[of] === null)
      ? null
      : median(rs.map((r) => ((r[of] ?? 0) * 1000) / r.rows))
  const cpuLine = (name: "cli" | "workers") => {
    const node = perThousand(runs[name], "nodeCpu")
    const db = perThousand(runs[name], "dbCpu")
    return `${label[name]}: ${node === null ? "–" : fmt(node, 3)} s of Node CPU and ${db === null ? "–" : fmt(db, 3)} s of database CPU per 1,000 samples`
  }
  /**
   * A projection, not a measurement (this machine has the cores it has): with a worker per core and the
   * CPU per sample measured here, a core's share of the work bounds the rate: cores / (Node + database
   * CPU per sample), never more than the feed's.
   */
  const projection = () => {
    const node = perThousand(runs.workers, "nodeCpu")
    const db = perThousand(runs.workers, "dbCpu")
    if (node === null || db === null) return "projection: – (the database's CPU cannot be read here)"
    return (
      "projection (not measured: this machine has " +
      `${os.availableParallelism()} cores), from the --workers CPU per sample, a worker per core: ` +
      [4, 8, 16].map((cores) => `${cores} cores ${fmt((cores * 1000) / (node + db))} rows/s`).join(", ")
    )
  }
  /** Parquet against gzip JSONL, the same samples through the CLI: medians and their ratios. */
  const parquetLine = () => {
    const of = (kind: "gzip" | "parquet") => {
      const rs = encoded[kind]
      return {
        mb: median(rs.map((r) => r.bytes)) / 1e6,
        rowsPerSecond: median(rs.map((r) => r.rows / r.seconds)),
        cpu: perThousand(rs, "nodeCpu") ?? Number.NaN,
        rss: median(rs.map((r) => r.peakRssMb ?? 0))
      }
    }
    const [gz, pq] = [of("gzip"), of("parquet")]
    const plain = median(runs.cli.map((r) => r.bytes)) / 1e6
    return (
      `Parquet (\`--out corpus.parquet\`) / gzip JSONL (\`--out corpus.jsonl.gz\`), ${fmt(summary.cli.rows)} samples: ` +
      `size ${fmt(pq.mb, 1)} / ${fmt(gz.mb, 1)} MB = ${(pq.mb / gz.mb).toFixed(2)}× (plain JSONL ${fmt(plain, 1)} MB); ` +
      `rows/s ${fmt(pq.rowsPerSecond)} / ${fmt(gz.rowsPerSecond)} = ${(pq.rowsPerSecond / gz.rowsPerSecond).toFixed(2)}×; ` +
      `Node CPU per 1,000 samples ${fmt(pq.cpu, 3)} / ${fmt(gz.cpu, 3)} s = ${(pq.cpu / gz.cpu).toFixed(2)}×; ` +
      `peak RSS ${fmt(pq.rss)} / ${fmt(gz.rss)} MB`
    )
  }
  const lines = [
    `${JOBS.toLocaleString("en-US")} jobs, ${summary.cli.rows.toLocaleString("en-US")} approved samples; ` +
      `medians of ${ROUNDS} alternating rounds; ${os.cpus().length} cores, node ${process.version}, ` +
      (EMBEDDED ? "embedded PGlite" : `PostgreSQL ${psql(url, "SHOW server_version")}`),
    "",
    "| path | rows/s | MB/s | peak RSS MB | first byte ms | ratio to COPY | ratio to feed |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...paths.map((name) => {
      const s = summary[name]
      const first =
        name === "cli"
          ? `${fmt(s.firstByteMs)} (${fmt(s.firstByteMs - median(starts))} after start)`
          : fmt(s.firstByteMs)
      return `| ${label[name]} | ${fmt(s.rowsPerSecond)} | ${fmt(s.mbPerSecond, 1)} | ${s.peakRssMb === null ? "–" : fmt(s.peakRssMb)} | ${first} | ${base === undefined ? "–" : (s.rowsPerSecond / base).toFixed(2)} | ${ceiling === undefined ? "–" : (s.rowsPerSecond / ceiling).toFixed(2)} |`
    }),
    ...(EMBEDDED
      ? []
      : [
          "",
          `--workers ${WORKERS} / one worker: ${(summary.workers.rowsPerSecond / summary.cli.rowsPerSecond).toFixed(2)}× ` +
            `the rows/s, ${sameBytes ? "byte-identical outputs" : "OUTPUTS DIFFER"}`,
          cpuLine("cli"),
          cpuLine("workers"),
          projection()
        ]),
    "",
    parquetLine(),
    "",
    `stats: median ${fmt(median(stats))} ms over ${stats.length} calls; ` +
      `CLI process start (\`ground-truth --version\`): median ${fmt(median(starts))} ms, part of its first byte`,
    ...(increments.length === 0
      ? []
      : [
          "",
          `increment after ${fmt(CHANGED)} changed jobs (\`export --changed-since\`): median ` +
            `${fmt(median(increments.map((r) => r.seconds)), 2)} s, ${fmt(increments[0].rows)} samples, peak RSS ` +
            `${fmt(median(increments.map((r) => r.peakRssMb ?? 0)))} MB; the full CLI export: median ` +
            `${fmt(median(runs.cli.map((r) => r.seconds)), 2)} s (increment/full ` +
            `${(median(increments.map((r) => r.seconds)) / median(runs.cli.map((r) => r.seconds))).toFixed(3)})`
        ]),
    "",
    `eval of ${fmt(predicted)} predictions (\`ground-truth eval\`, half results, half raw completions): median ` +
      `${fmt(median(evals.map((e) => e.seconds)), 2)} s, ${fmt(predicted / median(evals.map((e) => e.seconds)))} ` +
      `predictions/s, peak RSS ${fmt(median(evals.map((e) => e.peakRssMb)))} MB; a tenth of them: peak RSS ` +
      `${fmt(tenthEval?.peakRssMb ?? 0)} MB (all/tenth ${(median(evals.map((e) => e.peakRssMb)) / (tenthEval?.peakRssMb ?? 1)).toFixed(2)})`
  ]
  const table = lines.join("\n")
  const results = path.join(root, "bench", "results")
  const name = EMBEDDED ? `embedded-${JOBS}` : String(JOBS)
  fs.mkdirSync(results, { recursive: true })
  fs.writeFileSync(path.join(results, `${name}.md`), `${table}\n`)
  fs.writeFileSync(
    path.join(results, `${name}.json`),
    `${JSON.stringify(
      {
        jobs: JOBS,
        rounds: ROUNDS,
        embedded: EMBEDDED,
        summary,
        statsMs: median(stats),
        cliStartMs: median(starts),
        runs,
        increments,
        encoded,
        eval: { predictions: predicted, runs: evals, tenth: tenthEval }
      },
      null,
      2
    )}\n`
  )
  process.stdout.write(`${table}\n`)
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
