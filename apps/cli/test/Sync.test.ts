/**
 * `sync` and `merge` (contract §11, the chain law) through the real CLI, on every test database: a
 * corpus kept current through rounds of reviews must hold, byte for byte, what a fresh full export
 * holds, with the manifest that export writes (but its snapshot time and cursor); from the database,
 * from a real server's `/changes`, and from saved `/changes` bodies. And every way a chain can break is
 * refused with one line and the right exit status, leaving the corpus and its manifest as they were.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Cursor } from "@ground-truth/core"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer, Option } from "effect"
import { run } from "./cli.js"
import { dead } from "./files.js"

const serverBin = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "server",
  "bin",
  "serve.mjs"
)

const TOKEN = "sync-test-token-0123456789abcdef"

const oneLine = (stderr: string) => {
  expect(stderr.endsWith("\n")).toBe(true)
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex")

const jobIds = (b: Buffer) =>
  b
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l).job_id as string)

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))

/** A manifest without what differs between two exports of the same corpus: their snapshots. */
const withoutSnapshot = (m: Record<string, unknown>) => {
  const { snapshot_time: _time, cursor: _cursor, ...rest } = m
  return rest
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "gt-sync-"))

/** `pnpm serve` over `databaseUrl` on a free loopback port, until the scope closes; its base URL. */
const serverProcess = (databaseUrl: string) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly child: ChildProcess; readonly base: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [serverBin], {
            env: {
              ...process.env,
              DATABASE_URL: databaseUrl,
              PORT: "0",
              HOST: "127.0.0.1",
              GROUND_TRUTH_API_TOKENS: TOKEN
            },
            stdio: ["ignore", "pipe", "inherit"]
          })
          let out = ""
          child.stdout.on("data", (b: Buffer) => {
            out += b.toString("utf8")
            const address = /"address":"(http:\/\/[^"]+)"/.exec(out)
            if (address) resolve({ child, base: address[1] })
          })
          child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${out}`)))
        })
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

interface Served {
  readonly status: number
  readonly body: Buffer | string
}

/** A minimal HTTP server answering every request with `answer()`; the requests it saw. */
const stubServer = (answer: () => Served) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{
          readonly server: http.Server
          readonly base: string
          readonly seen: Array<{ readonly url: string; readonly authorization: string | undefined }>
        }>((resolve) => {
          const seen: Array<{ readonly url: string; readonly authorization: string | undefined }> = []
          const server = http.createServer((request, response) => {
            seen.push({ url: request.url ?? "", authorization: request.headers.authorization })
            const { status, body } = answer()
            response.writeHead(status, {
              "content-type": status === 200 ? "application/x-ndjson" : "application/json"
            })
            response.end(body)
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo
            resolve({ server, base: `http://127.0.0.1:${port}`, seen })
          })
        })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

/**
 * One round of reviews, each a kind of change an increment must carry: an approval withdrawn, a
 * correction (event and result together) on an approved job, new approved jobs (one at the whole
 * second before an existing job's fractional time, which sorts after it as a string; two at exactly its
 * time, on either side of its id), an unapproved job approved, a job touched without any change.
 */
const review = (round: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql.unsafe(
          `UPDATE jobs SET approved = false, reviewed_by = 'sync-test', reviewed_at = now()
           WHERE id = (SELECT id FROM jobs WHERE approved ORDER BY created_at, id OFFSET $1 LIMIT 1)`,
          [(round * 3) % 40]
        )
        const [target] = yield* sql.unsafe<{ readonly id: string }>(
          `SELECT id::text AS id FROM jobs
           WHERE approved AND result -> 'header' ? 'perihal'
           ORDER BY id OFFSET $1 LIMIT 1`,
          [(round * 5) % 40]
        )
        const perihal = `Perihal diperbaiki, putaran ${round}`
        yield* sql.unsafe(
          `INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, reason, corrected_at)
           SELECT j.id, 'header.perihal', j.result #> '{header,perihal}', to_jsonb($2::text), 'sync-test', 'round',
                  greatest(now(), (SELECT max(c.corrected_at) + interval '1 second'
                                   FROM job_corrections c WHERE c.job_id = j.id))
           FROM jobs j WHERE j.id = $1::uuid`,
          [target.id, perihal]
        )
        yield* sql.unsafe(
          `UPDATE jobs SET result = jsonb_set(result, '{header,perihal}', to_jsonb($2::text)), updated_at = now()
           WHERE id = $1::uuid`,
          [target.id, perihal]
        )
        // An approved job whose created_at has a fraction: the new jobs go beside it.
        const [beside] = yield* sql.unsafe<{ readonly id: string }>(
          `SELECT id::text AS id FROM jobs
           WHERE approved AND extract(microseconds FROM created_at)::bigint % 1000000 <> 0
           ORDER BY created_at, id OFFSET $1 LIMIT 1`,
          [(10 + round * 7) % 60]
        )
        const n = String(round).padStart(12, "0")
        yield* sql.unsafe(
          `INSERT INTO jobs (id, filename, source_kind, status, result, approved, reviewed_by, reviewed_at,
                             confidence, created_at)
           SELECT t.id::uuid, 'sync-' || t.suffix || '.pdf', 'pdf', 'done',
                  jsonb_build_object('header', jsonb_build_object('perihal', 'baru ' || t.suffix)),
                  true, 'sync-test', now(), 0.5, t.at
           FROM jobs b,
                LATERAL (VALUES ('00000000-0000-4000-8000-' || $2, 'whole-${round}', date_trunc('second', b.created_at)),
                                ('00000001-0000-4000-8000-' || $2, 'before-${round}', b.created_at),
                                ('ffffffff-0000-4000-8000-' || $2, 'after-${round}', b.created_at))
                  AS t(id, suffix, at)
           WHERE b.id = $1::uuid`,
          [beside.id, n]
        )
        yield* sql.unsafe(
          `UPDATE jobs SET approved = true, reviewed_by = 'sync-test', reviewed_at = now()
           WHERE id = (SELECT id FROM jobs WHERE NOT approved AND result IS NOT NULL
                       ORDER BY created_at DESC, id OFFSET $1 LIMIT 1)`,
          [round]
        )
        yield* sql.unsafe(
          `UPDATE jobs SET updated_at = now()
           WHERE id = (SELECT id FROM jobs WHERE approved ORDER BY created_at DESC, id OFFSET $1 LIMIT 1)`,
          [round]
        )
      })
    )
  })

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Demo.seed({ jobs: 200, seed: 23 })).pipe(
    Layer.provideMerge(target.layer)
  )
  layer(fixture, { timeout: 600_000 })(`sync and merge on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url }))
    const cli = (args: ReadonlyArray<string>, extra: Record<string, string | undefined> = {}) =>
      Effect.flatMap(env, (e) => run(args, { ...e, ...extra }))

    /** A fresh full export with `flags` and its manifest, from the database now. */
    const freshExport = (dir: string, flags: ReadonlyArray<string>, name = "fresh") =>
      Effect.gen(function* () {
        const out = path.join(dir, `${name}.jsonl`)
        const manifest = path.join(dir, `${name}.manifest.json`)
        const r = yield* cli(["export", "--out", out, "--manifest", manifest, ...flags])
        expect(r.stderr).toBe("")
        expect(r.code).toBe(0)
        return { bytes: fs.readFileSync(out), manifest: readJson(manifest) }
      })

    /** The corpus and its manifest are what a full export with `flags` gives now. */
    const expectCurrent = (dir: string, corpus: string, manifest: string, flags: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const fresh = yield* freshExport(dir, flags)
        const bytes = fs.readFileSync(corpus)
        expect(jobIds(bytes)).toEqual(jobIds(fresh.bytes))
        expect(bytes.equals(fresh.bytes)).toBe(true)
        const m = readJson(manifest)
        expect(withoutSnapshot(m)).toEqual(withoutSnapshot(fresh.manifest))
        expect(m).toMatchObject({
          changed_since: null,
          removed: [],
          sha256: sha256(bytes),
          bytes: bytes.length
        })
        expect(m.cursor).toMatch(/^gt2\./)
        return { rows: fresh.manifest.rows as number, cursor: m.cursor as string }
      })

    /** A `/changes` body written by hand: `export --changed-since`'s lines, then its manifest line. */
    const changesBody = (
      dir: string,
      name: string,
      cursor: string | undefined,
      flags: ReadonlyArray<string> = []
    ) =>
      Effect.gen(function* () {
        const out = path.join(dir, `${name}.lines`)
        const manifest = path.join(dir, `${name}.manifest`)
        const since = cursor === undefined ? [] : ["--changed-since", cursor]
        const r = yield* cli(["export", "--out", out, "--manifest", manifest, ...since, ...flags])
        expect(r.stderr).toBe("")
        expect(r.code).toBe(0)
        const body = Buffer.concat([fs.readFileSync(out), fs.readFileSync(manifest)])
        const file = path.join(dir, `${name}.jsonl`)
        fs.writeFileSync(file, body)
        return { file, manifest: readJson(manifest), body }
      })

    /** Runs `args`, expects it to fail with `code` and one line matching `message`, changing nothing. */
    const refused = (
      args: ReadonlyArray<string>,
      code: number,
      message: RegExp,
      untouched: ReadonlyArray<string>,
      extra: Record<string, string | undefined> = {}
    ) =>
      Effect.gen(function* () {
        const before = untouched.map((f) => (fs.existsSync(f) ? fs.readFileSync(f) : undefined))
        const dirs = new Set(untouched.map((f) => path.dirname(f)))
        const listed = [...dirs].map((d) => fs.readdirSync(d).sort())
        const r = yield* cli(args, extra)
        expect(r.stderr).toMatch(message)
        expect(r.stderr.startsWith("ground-truth: ")).toBe(true)
        oneLine(r.stderr)
        expect(r.code).toBe(code)
        untouched.forEach((f, i) => {
          const now = fs.existsSync(f) ? fs.readFileSync(f) : undefined
          expect(now === undefined ? undefined : now.equals(before[i] as Buffer), f).toBe(
            before[i] === undefined ? undefined : true
          )
        })
        // No temporary file left behind.
        expect([...dirs].map((d) => fs.readdirSync(d).sort())).toEqual(listed)
      })

    it.effect(
      "sync keeps a jsonl corpus equal to a fresh full export, round after round",
      () =>
        Effect.gen(function* () {
          const dir = tempDir()
          const corpus = path.join(dir, "corpus.jsonl")
          const manifest = path.join(dir, "corpus.manifest.json")
          const first = yield* cli(["sync", "--out", corpus])
          expect(first.code).toBe(0)
          let state = yield* expectCurrent(dir, corpus, manifest, [])
          expect(first.stderr).toBe(`${corpus}: ${state.rows} samples (a full export) at ${state.cursor}\n`)
          for (let round = 0; round < 3; round++) {
            yield* review(round)
            const r = yield* cli(["sync", "--out", corpus])
            expect(r.code).toBe(0)
            const previous = state
            state = yield* expectCurrent(dir, corpus, manifest, [])
            expect(state.cursor).not.toBe(previous.cursor)
            const summary = /^(.+): (\d+) samples \((\d+) new or changed, (\d+) removed\) at (\S+)\n$/.exec(
              r.stderr
            )
            expect(summary, r.stderr).not.toBeNull()
            const [, name, samples, changed, removed, cursor] = summary as RegExpExecArray
            expect([name, Number(samples), cursor]).toEqual([corpus, state.rows, state.cursor])
            // Three new jobs, a correction, an approval at least; a withdrawal.
            expect(Number(changed)).toBeGreaterThanOrEqual(5)
            expect(Number(removed)).toBe(1)
            expect(state.rows).toBe(previous.rows + 3)
          }
          // Nothing changed: the same bytes, a new cursor.
          const idle = yield* cli(["sync", "--out", corpus])
          expect(idle.code).toBe(0)
          expect(idle.stderr).toMatch(/ \(0 new or changed, 0 removed\) at gt2\./)
          yield* expectCurrent(dir, corpus, manifest, [])
          expect(fs.readdirSync(dir).sort()).toEqual(
            ["corpus.jsonl", "corpus.manifest.json", "fresh.jsonl", "fresh.manifest.json"].sort()
          )
        }),
      600_000
    )

    it.effect(
      "sync keeps an hf corpus with filters and a split, read from its manifest",
      () =>
        Effect.gen(function* () {
          const dir = tempDir()
          const corpus = path.join(dir, "hard")
          // No .jsonl: the manifest is the name followed by .manifest.json.
          const manifest = path.join(dir, "hard.manifest.json")
          const flags = [
            "--format",
            "hf",
            "--has-corrections",
            "true",
            "--split",
            "train",
            "--split-ratios",
            "70,20,10"
          ]
          const first = yield* cli(["sync", "--out", corpus, ...flags])
          expect(first.code).toBe(0)
          yield* expectCurrent(dir, corpus, manifest, flags)
          for (let round = 3; round < 5; round++) {
            yield* review(round)
            // The first round repeats the flags (the same: accepted), the second leaves them out.
            const r = yield* cli(["sync", "--out", corpus, ...(round === 3 ? flags : [])])
            expect(r.stderr).toMatch(
              /^.*hard: \d+ samples \(\d+ new or changed, \d+ removed\) at gt2\.\S+\n$/
            )
            expect(r.code).toBe(0)
            yield* expectCurrent(dir, corpus, manifest, flags)
          }
          // A separate manifest path.
          const other = path.join(dir, "other.jsonl")
          const otherManifest = path.join(dir, "meta", "other.json")
          fs.mkdirSync(path.dirname(otherManifest))
          const a = yield* cli(["sync", "--out", other, "--manifest", otherManifest, "--since", "2025-01-02"])
          expect(a.code).toBe(0)
          expect(fs.existsSync(path.join(dir, "other.manifest.json"))).toBe(false)
          yield* review(5)
          const b = yield* cli(["sync", "--out", other, "--manifest", otherManifest])
          expect(b.code).toBe(0)
          yield* expectCurrent(dir, other, otherManifest, ["--since", "2025-01-02"])
        }),
      600_000
    )

    it.effect(
      "sync --url reads the increments from a real server's /changes, with the bearer token",
      () =>
        Effect.gen(function* () {
          const db = yield* TestDatabase.TestDatabase
          const { base } = yield* serverProcess(db.url)
          const dir = tempDir()
          const corpus = path.join(dir, "corpus.jsonl")
          const manifest = path.join(dir, "corpus.manifest.json")
          const auth = { GROUND_TRUTH_TOKEN: TOKEN }
          // Without the token the server refuses, and its message is the one line.
          yield* refused(
            ["sync", "--out", corpus, "--url", base],
            1,
            /^ground-truth: http:\/\/127\.0\.0\.1:\d+ answered 401: .*GROUND_TRUTH_TOKEN/,
            [corpus, manifest],
            { GROUND_TRUTH_TOKEN: undefined }
          )
          // Set to the empty string, it is unset; blanks alone, or a token no client can send (a header
          // injection here), are refused in one line, exit 1.
          yield* refused(
            ["sync", "--out", corpus, "--url", base],
            1,
            /^ground-truth: http:\/\/127\.0\.0\.1:\d+ answered 401: .*\(set GROUND_TRUTH_TOKEN to a token the server accepts\)\n$/,
            [corpus, manifest],
            { GROUND_TRUTH_TOKEN: "" }
          )
          yield* refused(
            ["sync", "--out", corpus, "--url", base],
            1,
            /^ground-truth: GROUND_TRUTH_TOKEN: holds only blanks; set it to a token the server accepts, or unset it\n$/,
            [corpus, manifest],
            { GROUND_TRUTH_TOKEN: "   " }
          )
          yield* refused(
            ["sync", "--out", corpus, "--url", base],
            1,
            /^ground-truth: GROUND_TRUTH_TOKEN: has characters a client cannot send after "Bearer " \(RFC 6750: letters, digits, -\._~\+\/ and a final =\)\n$/,
            [corpus, manifest],
            { GROUND_TRUTH_TOKEN: `${TOKEN}\r\nX-Injected: 1` }
          )
          // The first sync is a full export, through /changes without changed_since.
          const first = yield* cli(["sync", "--out", corpus, "--url", base], auth)
          expect(first.stderr).toMatch(/ samples \(a full export\) at gt2\./)
          expect(first.code).toBe(0)
          yield* expectCurrent(dir, corpus, manifest, [])
          for (let round = 6; round < 8; round++) {
            yield* review(round)
            const r = yield* cli(["sync", "--out", corpus, "--url", `${base}/`], auth)
            expect(r.stderr).toMatch(/ \(\d+ new or changed, 1 removed\) at gt2\./)
            expect(r.code).toBe(0)
            yield* expectCurrent(dir, corpus, manifest, [])
          }
          // The database and the server name the same snapshots: the chain goes on either way.
          yield* review(8)
          expect((yield* cli(["sync", "--out", corpus])).code).toBe(0)
          yield* review(9)
          expect((yield* cli(["sync", "--out", corpus, "--url", base, "--format", "jsonl"], auth)).code).toBe(
            0
          )
          yield* expectCurrent(dir, corpus, manifest, [])
          // A cursor the database cannot answer for (another database's): the server's 410, the user's to
          // act on (exit 2), as from the database directly.
          const current = readJson(manifest)
          const taken = Cursor.decode(current.cursor)
          expect(Option.isSome(taken)).toBe(true)
          const stale = {
            ...current,
            cursor: Cursor.encode({ ...Option.getOrThrow(taken), database: "000000000000" })
          }
          fs.writeFileSync(manifest, `${JSON.stringify(stale)}\n`)
          yield* refused(
            ["sync", "--out", corpus, "--url", base],
            2,
            /^ground-truth: http:\/\/127\.0\.0\.1:\d+ answered 410: .*gt2\.\d+\.\d+\.\d+\.\d+\.000000000000\.[\w.]+ cannot be answered: it was taken on another database.*; for .*corpus\.jsonl: remove .*corpus\.manifest\.json and run sync again\n$/,
            [corpus, manifest],
            auth
          )
          yield* refused(
            ["sync", "--out", corpus],
            2,
            /^ground-truth: .*gt2\.\d+\.\d+\.\d+\.\d+\.000000000000\.[\w.]+ cannot be answered: it was taken on another database.*; for .*corpus\.jsonl: remove .*corpus\.manifest\.json and run sync again\n$/,
            [corpus, manifest]
          )
          // --full-if-stale starts the corpus again by itself, from the server and from the database.
          for (const source of [["--url", base], []]) {
            yield* review(source.length === 0 ? 30 : 31)
            fs.writeFileSync(manifest, `${JSON.stringify({ ...readJson(manifest), cursor: stale.cursor })}\n`)
            const again = yield* cli(["sync", "--out", corpus, "--full-if-stale", ...source], auth)
            expect(again.stderr).toMatch(
              /cannot be answered: it was taken on another database.*; taking a full export \(--full-if-stale\)\n.* samples \(a full export\) at gt2\./
            )
            expect(again.code).toBe(0)
            yield* expectCurrent(dir, corpus, manifest, [])
          }
        }).pipe(Effect.scoped),
      600_000
    )

    it.effect(
      "merge applies saved /changes bodies in order; a full export's body replaces the corpus",
      () =>
        Effect.gen(function* () {
          const dir = tempDir()
          const corpus = path.join(dir, "corpus.jsonl")
          const manifest = path.join(dir, "corpus.manifest.json")
          // A full export's body starts a corpus that has no manifest yet.
          const full = yield* changesBody(dir, "full", undefined)
          const m0 = yield* cli(["merge", "--out", corpus, full.file])
          expect(m0.stderr).toMatch(/corpus\.jsonl: \d+ samples \(0 new or changed, 0 removed\) at gt2\./)
          expect(m0.code).toBe(0)
          expect(fs.readFileSync(corpus).equals(full.body.subarray(0, full.manifest.bytes))).toBe(true)
          expect(readJson(manifest)).toEqual(full.manifest)
          // Two increments saved one after the other, merged in one run.
          yield* review(10)
          const c1 = yield* changesBody(dir, "c1", full.manifest.cursor)
          expect(c1.manifest.removed.length).toBeGreaterThan(0)
          yield* review(11)
          const c2 = yield* changesBody(dir, "c2", c1.manifest.cursor)
          const m1 = yield* cli(["merge", "--out", corpus, c1.file, c2.file])
          expect(m1.code).toBe(0)
          expect(m1.stderr).toMatch(new RegExp(`at ${c2.manifest.cursor.replaceAll(".", "\\.")}\\n$`))
          yield* expectCurrent(dir, corpus, manifest, [])
          expect(readJson(manifest)).toMatchObject({
            cursor: c2.manifest.cursor,
            snapshot_time: c2.manifest.snapshot_time
          })
          // A full body, then an increment from it: the body replaces the corpus, the increment continues it.
          yield* review(12)
          const full2 = yield* changesBody(dir, "full2", undefined)
          yield* review(13)
          const c3 = yield* changesBody(dir, "c3", full2.manifest.cursor)
          const m2 = yield* cli(["merge", "--out", corpus, full2.file, c3.file])
          expect(m2.code).toBe(0)
          yield* expectCurrent(dir, corpus, manifest, [])
          // hf, with a filter.
          const hf = path.join(dir, "hf.jsonl")
          const hfFlags = ["--format", "hf", "--approved-only", "false"]
          const h0 = yield* changesBody(dir, "h0", undefined, hfFlags)
          expect((yield* cli(["merge", "--out", hf, h0.file])).code).toBe(0)
          yield* review(14)
          const h1 = yield* changesBody(dir, "h1", h0.manifest.cursor, hfFlags)
          expect((yield* cli(["merge", "--out", hf, h1.file])).code).toBe(0)
          yield* expectCurrent(dir, hf, path.join(dir, "hf.manifest.json"), hfFlags)
        }),
      600_000
    )

    it.effect(
      "a broken chain, a tampered corpus, other filters, a cut body, a format without created_at: refused",
      () =>
        Effect.gen(function* () {
          const dir = tempDir()
          const corpus = path.join(dir, "corpus.jsonl")
          const manifest = path.join(dir, "corpus.manifest.json")
          const both = [corpus, manifest]
          expect((yield* cli(["sync", "--out", corpus])).code).toBe(0)
          const start = readJson(manifest)
          yield* review(15)
          const c1 = yield* changesBody(dir, "c1", start.cursor)
          yield* review(16)
          const c2 = yield* changesBody(dir, "c2", c1.manifest.cursor)

          // A gzipped corpus is export's, not sync's: refused at once.
          yield* refused(
            ["sync", "--out", `${corpus}.gz`],
            2,
            /^ground-truth: sync keeps a plain corpus, not .*corpus\.jsonl\.gz: gzip a copy of it if you need one\n$/,
            [`${corpus}.gz`]
          )

          // An increment whose count says the database holds one job fewer than the merged corpus would
          // (a job deleted since, which no increment can name): refused, nothing changed.
          const undercounted = path.join(dir, "undercounted.jsonl")
          const c1Lines = c1.body.subarray(
            0,
            c1.body.length - Buffer.byteLength(`${JSON.stringify(c1.manifest)}\n`)
          )
          fs.writeFileSync(
            undercounted,
            Buffer.concat([
              c1Lines,
              Buffer.from(`${JSON.stringify({ ...c1.manifest, corpus_rows: c1.manifest.corpus_rows - 1 })}\n`)
            ])
          )
          yield* refused(
            ["merge", "--out", corpus, undercounted],
            2,
            new RegExp(
              `^ground-truth: .*corpus\\.jsonl would hold ${c1.manifest.corpus_rows} samples where the database ` +
                `counts ${c1.manifest.corpus_rows - 1} at ${c1.manifest.cursor.replaceAll(".", "\\.")}: jobs were deleted`
            ),
            both
          )

          // Out of order: c2 does not continue the corpus.
          yield* refused(
            ["merge", "--out", corpus, c2.file],
            2,
            new RegExp(
              `^ground-truth: ${c2.file} continues from ${c1.manifest.cursor}, the corpus is at ${start.cursor}`
            ),
            both
          )
          yield* refused(
            ["merge", "--out", corpus, c1.file, c1.file],
            2,
            /c1\.jsonl continues from .*, the corpus after .*c1\.jsonl is at/,
            both
          )
          // An increment with other filters.
          const hf = yield* changesBody(dir, "hf", start.cursor, ["--format", "hf"])
          yield* refused(
            ["merge", "--out", corpus, hf.file],
            2,
            /hf\.jsonl was exported with --format hf, the corpus with --format jsonl/,
            both
          )
          // sync with filter flags that differ from the corpus's.
          yield* refused(
            ["sync", "--out", corpus, "--approved-only", "false"],
            2,
            /^ground-truth: .*corpus\.jsonl was exported with --approved-only true, not --approved-only false; sync keeps a corpus's filters/,
            both
          )
          yield* refused(
            ["sync", "--out", corpus, "--has-corrections", "--since", "2025-01-01"],
            2,
            /was exported with no --has-corrections, no --since, not --has-corrections true, --since 2025-01-01T00:00:00Z; sync keeps/,
            both
          )
          // Cut bodies: the manifest line missing, cut inside a line, lines that are not the manifest's.
          const lines = c1.body.subarray(0, c1.manifest.bytes)
          const noManifest = path.join(dir, "no-manifest.jsonl")
          fs.writeFileSync(noManifest, lines)
          yield* refused(
            ["merge", "--out", corpus, noManifest],
            1,
            /^ground-truth: incomplete increment from .*no-manifest\.jsonl: its last line is not a manifest/,
            both
          )
          const cut = path.join(dir, "cut.jsonl")
          fs.writeFileSync(cut, c1.body.subarray(0, c1.body.length - 40))
          yield* refused(
            ["merge", "--out", corpus, cut],
            1,
            /incomplete increment from .*cut\.jsonl: it does not end with a newline/,
            both
          )
          const short = path.join(dir, "short.jsonl")
          const firstLine = c1.body.indexOf(10) + 1
          fs.writeFileSync(short, c1.body.subarray(firstLine))
          yield* refused(
            ["merge", "--out", corpus, short],
            1,
            /incomplete increment from .*short\.jsonl: its lines \(/,
            both
          )
          const empty = path.join(dir, "empty.jsonl")
          fs.writeFileSync(empty, "")
          yield* refused(
            ["merge", "--out", corpus, empty],
            1,
            /incomplete increment from .*empty\.jsonl: it is empty/,
            both
          )

          // An increment onto a corpus without a manifest.
          yield* refused(
            ["merge", "--out", path.join(dir, "new.jsonl"), c1.file],
            2,
            /c1\.jsonl continues from .*, and .*new\.jsonl has no manifest/,
            [path.join(dir, "new.jsonl"), path.join(dir, "new.manifest.json")]
          )
          // Formats without created_at: at once, nothing written.
          yield* refused(
            ["sync", "--out", path.join(dir, "pc.jsonl"), "--format", "prompt-completion"],
            2,
            /^ground-truth: sync and merge need --format jsonl or hf: prompt-completion lines carry no created_at/,
            [path.join(dir, "pc.jsonl"), path.join(dir, "pc.manifest.json")]
          )
          const messages = yield* changesBody(dir, "messages", undefined, ["--format", "messages"])
          yield* refused(
            ["merge", "--out", path.join(dir, "msg.jsonl"), messages.file],
            2,
            /sync and merge need --format jsonl or hf: messages lines carry no created_at/,
            [path.join(dir, "msg.jsonl"), path.join(dir, "msg.manifest.json")]
          )

          // A tampered corpus: a byte changed (same size), a line added; a missing corpus; a broken manifest.
          const good = fs.readFileSync(corpus)
          const flipped = Buffer.from(good)
          flipped[100] = flipped[100] === 0x61 ? 0x62 : 0x61
          fs.writeFileSync(corpus, flipped)
          yield* refused(
            ["sync", "--out", corpus],
            1,
            /^ground-truth: .*corpus\.jsonl does not match .*corpus\.manifest\.json \(it has .*sha256 .*\): it was changed after it was written; take a full export: remove .*corpus\.manifest\.json/,
            both
          )
          yield* refused(["merge", "--out", corpus, c1.file], 1, /corpus\.jsonl does not match/, both)
          fs.writeFileSync(corpus, Buffer.concat([good, good.subarray(0, good.indexOf(10) + 1)]))
          yield* refused(
            ["sync", "--out", corpus],
            1,
            /does not match .* \(it has \d+ bytes, the manifest says \d+\)/,
            both
          )
          fs.rmSync(corpus)
          yield* refused(
            ["sync", "--out", corpus],
            1,
            /corpus\.jsonl is missing, but .*corpus\.manifest\.json describes it/,
            both
          )
          fs.writeFileSync(corpus, good)
          fs.writeFileSync(manifest, "{}\n")
          yield* refused(["sync", "--out", corpus], 1, /corpus\.manifest\.json is not a manifest/, both)
          fs.writeFileSync(manifest, fs.readFileSync(c1.file).subarray(c1.manifest.bytes))
          yield* refused(["sync", "--out", corpus], 1, /is an increment's manifest \(changed_since/, both)

          // Usage: no standard output, the manifest not the corpus, a URL that is not http.
          yield* refused(["sync", "--out", "-"], 2, /sync needs --out PATH/, [])
          yield* refused(
            ["sync", "--out", corpus, "--manifest", corpus],
            2,
            /^ground-truth: --out .*corpus\.jsonl and --manifest .*corpus\.jsonl are the same file: each needs a file of its own\n$/,
            both
          )
          yield* refused(["sync", "--out", corpus, "--url", "ftp://x"], 2, /--url must be an http/, both)

          // Removing the manifest is the way back: a full export.
          fs.rmSync(manifest)
          fs.writeFileSync(corpus, flipped)
          expect((yield* cli(["sync", "--out", corpus])).code).toBe(0)
          yield* expectCurrent(dir, corpus, manifest, [])
        }),
      600_000
    )

    it.effect(
      "sync --url checks what a server answers: its errors, a cut body, another chain",
      () =>
        Effect.gen(function* () {
          const dir = tempDir()
          const corpus = path.join(dir, "corpus.jsonl")
          const manifest = path.join(dir, "corpus.manifest.json")
          const both = [corpus, manifest]
          expect((yield* cli(["sync", "--out", corpus])).code).toBe(0)
          const start = readJson(manifest)
          yield* review(17)
          const c1 = yield* changesBody(dir, "c1", start.cursor)
          let answer: Served = { status: 200, body: c1.body }
          const stub = yield* stubServer(() => answer)
          const url = ["sync", "--out", corpus, "--url", stub.base]
          const token = { GROUND_TRUTH_TOKEN: "t0k3n" }

          answer = {
            status: 410,
            body: JSON.stringify({
              error: { code: "stale_cursor", message: "changed_since x cannot be answered" }
            })
          }
          yield* refused(
            url,
            2,
            /^ground-truth: http:\/\/127\.0\.0\.1:\d+ answered 410: changed_since x cannot be answered; for .*corpus\.jsonl: remove .*corpus\.manifest\.json and run sync again\n$/,
            both
          )
          answer = {
            status: 500,
            body: JSON.stringify({ error: { code: "database_error", message: "boom" } })
          }
          yield* refused(url, 1, /answered 500: boom\n$/, both)
          answer = {
            status: 400,
            body: JSON.stringify({
              error: { code: "invalid_cursor", message: "changed_since must be a cursor" }
            })
          }
          yield* refused(url, 2, /answered 400: changed_since must be a cursor\n$/, both)
          answer = { status: 502, body: "<html>Bad Gateway</html>" }
          yield* refused(url, 1, /answered 502: <html>Bad Gateway<\/html>\n$/, both)
          // Answers the protocol does not declare: an error code it does not know (a newer server's) is still
          // quoted, and its status still says whose turn it is; a bodiless 204 is no export.
          answer = {
            status: 400,
            body: JSON.stringify({ error: { code: "some_new_code", message: "a newer server says no" } })
          }
          yield* refused(url, 2, /answered 400: a newer server says no\n$/, both)
          answer = { status: 204, body: "" }
          yield* refused(url, 1, /answered 204: no error message\n$/, both)
          // A body cut before its manifest line; one cut inside it; one from another cursor.
          answer = { status: 200, body: c1.body.subarray(0, c1.manifest.bytes) }
          yield* refused(
            url,
            1,
            /^ground-truth: incomplete increment from http:\/\/127\.0\.0\.1:\d+: its last line is not a manifest/,
            both
          )
          answer = { status: 200, body: c1.body.subarray(0, c1.body.length - 10) }
          yield* refused(url, 1, /incomplete increment from .*: it does not end with a newline/, both)
          yield* review(18)
          const c2 = yield* changesBody(dir, "c2", c1.manifest.cursor)
          answer = { status: 200, body: c2.body }
          yield* refused(
            url,
            1,
            /incomplete increment from .*: it continues from .*, not from the corpus's cursor/,
            both
          )
          // A first sync (no manifest yet) reads a full export's body: cut before its manifest line, nothing
          // is written; whole, it is the corpus.
          const fresh = path.join(dir, "fresh-from-url.jsonl")
          const freshManifest = path.join(dir, "fresh-from-url.manifest.json")
          const full = yield* changesBody(dir, "full", undefined)
          answer = { status: 200, body: full.body.subarray(0, full.manifest.bytes) }
          yield* refused(
            ["sync", "--out", fresh, "--url", stub.base],
            1,
            /^ground-truth: incomplete increment from http:\/\/127\.0\.0\.1:\d+: its last line is not a manifest/,
            [fresh, freshManifest]
          )
          answer = { status: 200, body: full.body }
          expect((yield* cli(["sync", "--out", fresh, "--url", stub.base])).code).toBe(0)
          expect(fs.readFileSync(fresh).equals(full.body.subarray(0, full.manifest.bytes))).toBe(true)
          expect(readJson(freshManifest)).toEqual(full.manifest)
          // The right body: applied; the request carried the filters, the cursor and the token.
          stub.seen.length = 0
          answer = { status: 200, body: c1.body }
          const r = yield* cli(url, token)
          expect(r.code).toBe(0)
          expect(stub.seen).toHaveLength(1)
          const seen = new URL(stub.seen[0].url, stub.base)
          expect(seen.pathname).toBe("/api/v1/ground-truth/changes")
          expect(Object.fromEntries(seen.searchParams)).toEqual({
            approved_only: "true",
            format: "jsonl",
            changed_since: start.cursor
          })
          expect(stub.seen[0].authorization).toBe("Bearer t0k3n")
          // The corpus is the one c1's snapshot gave: the start, with c1 applied (checked against c2's
          // view: applying c2 now gives a fresh export).
          expect(readJson(manifest)).toMatchObject({ cursor: c1.manifest.cursor })
          answer = { status: 200, body: c2.body }
          expect((yield* cli(url)).code).toBe(0)
          yield* expectCurrent(dir, corpus, manifest, [])
        }).pipe(Effect.scoped),
      600_000
    )

    it.effect(
      "sync through a symbolic link keeps the file it names current; the link stays a link",
      () =>
        Effect.gen(function* () {
          const dir = tempDir()
          fs.mkdirSync(path.join(dir, "data"))
          const corpus = path.join(dir, "corpus.jsonl")
          const manifest = path.join(dir, "corpus.manifest.json")
          fs.symlinkSync("data/corpus.jsonl", corpus)
          const first = yield* cli(["sync", "--out", corpus])
          expect(first.code).toBe(0)
          yield* review(40)
          const second = yield* cli(["sync", "--out", corpus])
          expect(second.stderr).toMatch(/ \(\d+ new or changed, 1 removed\) at gt2\./)
          expect(second.code).toBe(0)
          yield* expectCurrent(tempDir(), corpus, manifest, [])
          expect(fs.lstatSync(corpus).isSymbolicLink()).toBe(true)
          expect(fs.readlinkSync(corpus)).toBe("data/corpus.jsonl")
          expect(fs.readdirSync(dir).sort()).toEqual(["corpus.jsonl", "corpus.manifest.json", "data"])
          expect(fs.readdirSync(path.join(dir, "data"))).toEqual(["corpus.jsonl"])
        }),
      600_000
    )

    it.effect(
      "a sync killed at any point of its writes: the next run finishes the replacement or starts from the old pair, never from a wrong corpus",
      () =>
        Effect.gen(function* () {
          // The pair before, and the pair the killed run was writing: the same sync, run to its end elsewhere.
          const before = tempDir()
          expect((yield* cli(["sync", "--out", path.join(before, "corpus.jsonl")])).code).toBe(0)
          const old = {
            corpus: fs.readFileSync(path.join(before, "corpus.jsonl")),
            manifest: fs.readFileSync(path.join(before, "corpus.manifest.json"))
          }
          yield* review(41)
          const after = tempDir()
          fs.cpSync(before, after, { recursive: true })
          expect((yield* cli(["sync", "--out", path.join(after, "corpus.jsonl")])).code).toBe(0)
          const next = {
            corpus: fs.readFileSync(path.join(after, "corpus.jsonl")),
            manifest: fs.readFileSync(path.join(after, "corpus.manifest.json"))
          }
          expect(next.corpus.equals(old.corpus)).toBe(false)
          const half = (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))
          // What a run killed by SIGKILL leaves at each point: it writes the corpus beside it, then the
          // manifest beside it, renames the manifest, then the corpus.
          const corpusPartial = `.corpus.jsonl.${dead}.partial`
          const manifestPartial = `.corpus.manifest.json.${dead}.partial`
          const between = {
            "corpus.jsonl": old.corpus,
            "corpus.manifest.json": next.manifest,
            [corpusPartial]: next.corpus
          }
          const states: ReadonlyArray<readonly [string, Record<string, Buffer>]> = [
            [
              "writing the corpus",
              {
                "corpus.jsonl": old.corpus,
                "corpus.manifest.json": old.manifest,
                [corpusPartial]: half(next.corpus)
              }
            ],
            [
              "writing the manifest",
              {
                "corpus.jsonl": old.corpus,
                "corpus.manifest.json": old.manifest,
                [corpusPartial]: next.corpus,
                [manifestPartial]: half(next.manifest)
              }
            ],
            [
              "before the first rename",
              {
                "corpus.jsonl": old.corpus,
                "corpus.manifest.json": old.manifest,
                [corpusPartial]: next.corpus,
                [manifestPartial]: next.manifest
              }
            ],
            ["between the two renames", between],
            [
              "between the two renames of a first sync",
              { "corpus.manifest.json": next.manifest, [corpusPartial]: next.corpus }
            ],
            [
              "after the second rename",
              { "corpus.jsonl": next.corpus, "corpus.manifest.json": next.manifest }
            ]
          ]
          const lay = (files: Record<string, Buffer>) => {
            const dir = tempDir()
            for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes)
            return {
              dir,
              corpus: path.join(dir, "corpus.jsonl"),
              manifest: path.join(dir, "corpus.manifest.json")
            }
          }
          const finished =
            /^.*corpus\.jsonl: finished the replacement a killed run left half done: .*\.corpus\.jsonl\.\d+\.partial holds the corpus .*corpus\.manifest\.json describes, and is now .*corpus\.jsonl\n/
          for (const [point, files] of states) {
            for (const args of [[], ["--full-if-stale"]]) {
              const { dir, corpus, manifest } = lay(files)
              const r = yield* cli(["sync", "--out", corpus, ...args])
              expect(r.code, `${point}: ${r.stderr}`).toBe(0)
              expect(finished.test(r.stderr), `${point}: ${r.stderr}`).toBe(point.startsWith("between"))
              yield* expectCurrent(tempDir(), corpus, manifest, [])
              expect(fs.readdirSync(dir).sort(), point).toEqual(["corpus.jsonl", "corpus.manifest.json"])
            }
          }
          // merge finishes it too, then applies what it was given.
          const onward = lay(between)
          const c = yield* changesBody(tempDir(), "c", JSON.parse(next.manifest.toString("utf8")).cursor)
          const merged = yield* cli(["merge", "--out", onward.corpus, c.file])
          expect(merged.code).toBe(0)
          expect(merged.stderr).toMatch(finished)
          yield* expectCurrent(tempDir(), onward.corpus, onward.manifest, [])
          expect(fs.readdirSync(onward.dir).sort()).toEqual(["corpus.jsonl", "corpus.manifest.json"])

          // Only a dead process's file that is exactly the corpus the manifest describes takes its place.
          const flipped = Buffer.from(next.corpus)
          flipped[100] = flipped[100] === 0x61 ? 0x62 : 0x61
          for (const files of [
            { ...between, [corpusPartial]: flipped },
            { ...between, [corpusPartial]: half(next.corpus) },
            // A live process's (this one's): it may still be writing.
            { ...between, [corpusPartial]: undefined, [`.corpus.jsonl.${process.pid}.partial`]: next.corpus },
            { ...between, [corpusPartial]: undefined }
          ]) {
            const defined = Object.fromEntries(
              Object.entries(files).filter((e): e is [string, Buffer] => e[1] !== undefined)
            )
            const { dir, corpus, manifest } = lay(defined)
            yield* refused(
              ["sync", "--out", corpus, "--full-if-stale"],
              1,
              /^ground-truth: .*corpus\.jsonl does not match .*corpus\.manifest\.json \(it has .*, the manifest says .*\): it was changed after it was written/,
              Object.keys(defined).map((name) => path.join(dir, name))
            )
            expect(fs.readFileSync(manifest).equals(next.manifest)).toBe(true)
          }
        }),
      600_000
    )
  })
}
