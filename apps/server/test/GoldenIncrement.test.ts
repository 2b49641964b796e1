/**
 * The golden increment scenario (contract §11) over real HTTP, on a database of its own: full exports
 * of the fixture give the cursors (`Ground-Truth-Cursor`), the scenario's change is applied, and
 * `changed_since` must give the hand-written bytes of every increment case on `/export`, the same lines
 * and their manifest on `/changes`, the same removed ids on `/manifest`, and the same bytes as the CLI;
 * cursors that are not ours answer 400 `invalid_cursor`, those this database cannot answer for 410
 * `stale_cursor`.
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { expect, layer } from "@effect/vitest"
import { Cursor, type Manifest } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Context, Effect, Layer, Option } from "effect"
import { baseUrl, bytes, type ErrorBody, get, json, serve } from "./server.js"

const API = "/api/v1/ground-truth"

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex")

const decoded = (text: string | null): Cursor.Cursor => {
  const cursor = Cursor.decode(text ?? "")
  if (Option.isNone(cursor)) throw new Error(`not a cursor: ${JSON.stringify(text)}`)
  return cursor.value
}

const withCursor = (params: ReadonlyArray<readonly [string, string]>, cursor: string) =>
  Golden.query([...params, ["changed_since", cursor]])

/** The CLI's launcher, run as a user would, for the same bytes from the other front end. */
const cliBin = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "cli",
  "bin",
  "ground-truth.mjs"
)

const cli = (args: ReadonlyArray<string>, databaseUrl: string) =>
  Effect.promise(
    () =>
      new Promise<{ readonly code: number; readonly stdout: Buffer; readonly stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [cliBin, ...args],
          { env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: "buffer", maxBuffer: 1 << 26 },
          (error, stdout, stderr) =>
            resolve({
              code: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
              stdout,
              stderr: stderr.toString("utf8")
            })
        )
      })
  )

type ManifestBody = Manifest.Manifest

/** A full export before the change: its status, body and cursor header. */
interface Before {
  readonly status: number
  readonly body: Buffer
  readonly cursor: string | null
}

class Scenario extends Context.Tag("GoldenIncrement/HttpScenario")<
  Scenario,
  {
    readonly before: ReadonlyArray<Before>
    /** The cursors `/manifest` gave for the same full exports. */
    readonly manifests: ReadonlyArray<ManifestBody>
    /** A cursor the server gave on another, empty database of the same kind. */
    readonly otherDatabase: string
  }
>() {}

const fetchBefore = (base: string, params: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function* () {
    const response = yield* get(`${base}${API}/export?${Golden.query(params)}`)
    return {
      status: response.status,
      cursor: response.headers.get("ground-truth-cursor"),
      body: yield* bytes(response)
    }
  })

for (const target of TestDatabase.targets()) {
  // A database of its own (the shared golden tests read an unchanged fixture): the fixture, settled,
  // one full export per case (the cursors), then the scenario's change, settled.
  const setup = Effect.gen(function* () {
    const base = yield* baseUrl
    yield* Golden.settle
    const before = yield* Effect.forEach(Golden.incrementCases, (c) => fetchBefore(base, c.params), {
      concurrency: 3
    })
    const manifests = yield* Effect.forEach(
      Golden.incrementCases,
      (c) =>
        Effect.flatMap(get(`${base}${API}/manifest?${Golden.query(c.params)}`), (r) => json<ManifestBody>(r)),
      { concurrency: 3 }
    )
    // Another database: on the embedded one, made anew (a copy of the template would share its cluster).
    const other =
      TestDatabase.targets({ fresh: true }).find((t) => t.name === target.name)?.layer ?? target.layer
    const otherDatabase = yield* Effect.flatMap(baseUrl, (otherBase) => fetchBefore(otherBase, [])).pipe(
      Effect.provide(serve(other))
    )
    if (otherDatabase.status !== 200 || otherDatabase.cursor === null) {
      throw new Error(`export on the other database: ${otherDatabase.status}`)
    }
    yield* Golden.change
    yield* Golden.settle
    return { before, manifests, otherDatabase: otherDatabase.cursor }
  })
  const scenario = Layer.effect(Scenario, setup).pipe(
    Layer.provideMerge(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))))
  )

  layer(scenario, { timeout: 300_000 })(`HTTP golden increments on ${target.name}`, (it) => {
    it.effect("the full exports before the change are the fixture's, each naming its snapshot", () =>
      Effect.gen(function* () {
        const { before, manifests } = yield* Scenario
        const databases = new Set<string>()
        Golden.incrementCases.forEach((c, i) => {
          expect(before[i].status, c.name).toBe(200)
          expect(before[i].body.toString("utf8"), c.name).toBe(Golden.expectedBefore(c).toString("utf8"))
          expect(before[i].cursor, c.name).toMatch(/^[A-Za-z0-9._~-]+$/)
          databases.add(decoded(before[i].cursor).database)
          expect(manifests[i], c.name).toMatchObject({
            changed_since: null,
            removed: [],
            rows: c.before.length
          })
          databases.add(decoded(manifests[i].cursor).database)
        })
        expect(databases.size).toBe(1)
      })
    )

    for (const [i, c] of Golden.incrementCases.entries()) {
      it.effect(`export ${c.name}`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const since = (yield* Scenario).before[i].cursor ?? ""
          const response = yield* get(`${base}${API}/export?${withCursor(c.params, since)}`)
          expect(response.status).toBe(200)
          expect(response.headers.get("content-type")).toBe("application/x-ndjson")
          const disposition = response.headers.get("content-disposition") ?? ""
          const date = /ground-truth-(\d{4}-\d{2}-\d{2})/.exec(disposition)?.[1] ?? "no date"
          expect(disposition).toBe(`attachment; filename="${Golden.fileName(c, date)}"`)
          const cursor = response.headers.get("ground-truth-cursor")
          expect(cursor).not.toBeNull()
          expect(cursor).not.toBe(since)
          expect(decoded(cursor).database).toBe(decoded(since).database)
          expect(decoded(cursor).xmax > decoded(since).xmax).toBe(true)
          expect(response.headers.get("ground-truth-snapshot-time")).toMatch(
            /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
          )
          const body = yield* bytes(response)
          expect(body.toString("utf8")).toBe(Golden.expectedIncrement(c).toString("utf8"))
          expect(body.equals(Golden.expectedIncrement(c))).toBe(true)
        })
      )
    }

    for (const [i, c] of Golden.incrementCases.entries()) {
      it.effect(`changes ${c.name}`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const since = (yield* Scenario).before[i].cursor ?? ""
          const response = yield* get(`${base}${API}/changes?${withCursor(c.params, since)}`)
          expect(response.status).toBe(200)
          expect(response.headers.get("content-type")).toBe("application/x-ndjson")
          const disposition = response.headers.get("content-disposition") ?? ""
          const date = /ground-truth-(\d{4}-\d{2}-\d{2})/.exec(disposition)?.[1] ?? "no date"
          expect(disposition).toBe(
            `attachment; filename="${Golden.fileName(c, date).replace(/\.jsonl$/, "-changes.jsonl")}"`
          )
          const body = yield* bytes(response)
          const expected = Golden.expectedIncrement(c)
          // The lines, byte for byte, then exactly one line: the manifest.
          expect(body.subarray(0, expected.length).toString("utf8")).toBe(expected.toString("utf8"))
          const rest = body.subarray(expected.length).toString("utf8")
          expect(rest.endsWith("\n")).toBe(true)
          expect(rest.slice(0, -1)).not.toContain("\n")
          const manifest = JSON.parse(rest) as ManifestBody
          const lines = body.subarray(0, expected.length)
          expect(manifest).toMatchObject({
            contract_version: "1",
            format: c.format,
            changed_since: since,
            rows: c.jobs.length,
            bytes: lines.length,
            sha256: sha256(lines)
          })
          expect(manifest.sha256).toBe(sha256(expected))
          expect(manifest.removed).toEqual(Golden.expectedRemoved(c))
          // The full export's lines, counted in SQL (a split's hash too): the hand-written list after.
          expect(manifest.corpus_rows).toBe(c.format === "jsonl" || c.format === "hf" ? c.after.length : null)
          // One snapshot: the header names the same one as the manifest line.
          expect(response.headers.get("ground-truth-cursor")).toBe(manifest.cursor)
          expect(manifest.cursor).not.toBe(since)
        })
      )
    }

    for (const [i, c] of Golden.incrementCases.entries()) {
      it.effect(`manifest ${c.name}`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const since = (yield* Scenario).before[i].cursor ?? ""
          const response = yield* get(`${base}${API}/manifest?${withCursor(c.params, since)}`)
          expect(response.status).toBe(200)
          expect(response.headers.get("content-type")).toBe("application/json")
          const expected = Golden.expectedIncrement(c)
          const manifest = yield* json<ManifestBody>(response)
          expect(manifest).toMatchObject({
            contract_version: "1",
            format: c.format,
            changed_since: since,
            rows: c.jobs.length,
            bytes: expected.length,
            sha256: sha256(expected)
          })
          expect(manifest.removed).toEqual(Golden.expectedRemoved(c))
          expect(manifest.cursor).not.toBe(since)
          expect(decoded(manifest.cursor).database).toBe(decoded(since).database)
        })
      )
    }

    it.effect(
      "the CLI gives the same increment bytes from the same cursor",
      () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const { before } = yield* Scenario
          const url = (yield* TestDatabase.TestDatabase).url
          const results = yield* Effect.forEach(
            Golden.incrementCases,
            (c, i) => {
              const since = before[i].cursor ?? ""
              return Effect.all({
                http: Effect.flatMap(get(`${base}${API}/export?${withCursor(c.params, since)}`), bytes),
                cli: cli(["export", "--changed-since", since, ...Golden.flags(c.params)], url)
              })
            },
            { concurrency: 2 }
          )
          Golden.incrementCases.forEach((c, i) => {
            const { http, cli } = results[i]
            // Without --manifest the CLI counts the removals on standard error.
            const removed = Golden.expectedRemoved(c).length
            expect(cli.stderr, c.name).toBe(
              removed === 0
                ? ""
                : `ground-truth: ${removed} changed job${removed === 1 ? " has" : "s have"} no line in this increment; --manifest PATH lists them (removed), to drop from the corpus it continues\n`
            )
            expect(cli.code, c.name).toBe(0)
            expect(cli.stdout.equals(http), c.name).toBe(true)
            expect(http.equals(Golden.expectedIncrement(c)), c.name).toBe(true)
          })
        }),
      300_000
    )

    it.effect("chain law: the full export before, with the increment applied, is the full export after", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const { before } = yield* Scenario
        for (const [i, c] of Golden.incrementCases.entries()) {
          const since = before[i].cursor ?? ""
          const full = yield* Effect.flatMap(get(`${base}${API}/export?${Golden.query(c.params)}`), bytes)
          expect(full.toString("utf8"), c.name).toBe(Golden.expectedAfter(c).toString("utf8"))
          const changes = yield* Effect.flatMap(
            get(`${base}${API}/changes?${withCursor(c.params, since)}`),
            bytes
          )
          const text = changes.toString("utf8")
          const cut = text.lastIndexOf("\n", text.length - 2) + 1
          const manifest = JSON.parse(text.slice(cut)) as ManifestBody
          // The training formats carry no created_at to place a new job by: only jsonl and hf chain here.
          if (c.format === "jsonl" || c.format === "hf") {
            const lines = Buffer.from(text.slice(0, cut), "utf8")
            expect(Golden.chain(before[i].body, lines, manifest.removed).toString("utf8"), c.name).toBe(
              full.toString("utf8")
            )
          }
        }
      })
    )

    it.effect("an increment from an increment's own cursor is empty, and still names its snapshot", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const { before } = yield* Scenario
        const first = yield* get(
          `${base}${API}/export?${withCursor([["approved_only", "false"]], before[1].cursor ?? "")}`
        )
        expect(first.status).toBe(200)
        yield* bytes(first)
        const since = first.headers.get("ground-truth-cursor") ?? ""
        const again = yield* get(`${base}${API}/export?${withCursor([["approved_only", "false"]], since)}`)
        expect(again.status).toBe(200)
        expect(again.headers.get("ground-truth-cursor")).not.toBeNull()
        expect(decoded(again.headers.get("ground-truth-cursor")).database).toBe(decoded(since).database)
        expect((yield* bytes(again)).length).toBe(0)
        const changes = yield* get(`${base}${API}/changes?${withCursor([["approved_only", "false"]], since)}`)
        expect(changes.status).toBe(200)
        const text = (yield* bytes(changes)).toString("utf8")
        expect(text.endsWith("\n")).toBe(true)
        expect(text.slice(0, -1)).not.toContain("\n")
        expect(JSON.parse(text)).toMatchObject({
          changed_since: since,
          rows: 0,
          bytes: 0,
          sha256: sha256(Buffer.alloc(0)),
          removed: []
        })
        expect(changes.headers.get("ground-truth-cursor")).toBe(JSON.parse(text).cursor)
      })
    )

    it.effect("a cursor that is not ours is 400 invalid_cursor on /export, /changes and /manifest", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const real = (yield* Scenario).before[0].cursor ?? ""
        const parts = real.split(".")
        const [xmin, xmax, check] = [parts[1], parts[2], parts[10]]
        const withPart = (i: number, value: string) => parts.map((p, j) => (j === i ? value : p)).join(".")
        const edit = (digits: string) =>
          `${digits.slice(0, -1)}${(Number(digits.at(-1)) + (digits.length === 1 ? 1 : 9)) % 10}`
        const real0 = decoded(real)
        const bad = [
          "abc",
          "",
          withPart(1, edit(xmin)),
          withPart(2, edit(xmax)),
          withPart(10, check === "00000000" ? "ffffffff" : "00000000"),
          `${real}=`,
          Cursor.encode({ ...real0, xmin: real0.xmax + 1n })
        ]
        for (const text of bad) expect(text).not.toBe(real)
        for (const endpoint of ["export", "changes", "manifest"]) {
          for (const [i, text] of bad.entries()) {
            const c = Golden.incrementCases[i % Golden.incrementCases.length]
            const response = yield* get(`${base}${API}/${endpoint}?${withCursor(c.params, text)}`)
            const what = `${endpoint} ${JSON.stringify(text)}`
            expect(response.status, what).toBe(400)
            expect(response.headers.get("content-type"), what).toBe("application/json")
            const body = yield* json<ErrorBody>(response)
            expect(Object.keys(body), what).toEqual(["error"])
            expect(body.error.code, what).toBe("invalid_cursor")
            expect(body.error.parameter, what).toBe("changed_since")
            expect(body.error.message, what).toContain(JSON.stringify(text))
          }
        }
      })
    )

    it.effect("a cursor this database cannot answer for is 410 stale_cursor, asking for a full export", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const { before, otherDatabase } = yield* Scenario
        const real = decoded(before[0].cursor)
        expect(decoded(otherDatabase).database).not.toBe(real.database)
        const stale = Golden.staleCursors(real, otherDatabase)
        for (const endpoint of ["export", "changes", "manifest"]) {
          for (const [i, text] of stale.entries()) {
            const c = Golden.incrementCases[i % Golden.incrementCases.length]
            const response = yield* get(`${base}${API}/${endpoint}?${withCursor(c.params, text)}`)
            const what = `${endpoint} ${text}`
            expect(response.status, what).toBe(410)
            expect(response.headers.get("content-type"), what).toBe("application/json")
            const body = yield* json<ErrorBody>(response)
            expect(Object.keys(body), what).toEqual(["error"])
            expect(body.error.code, what).toBe("stale_cursor")
            expect(body.error.message, what).toContain("take a full export")
            expect(body.error.message, what).toContain(text)
          }
        }
      })
    )
  })
}
