/**
 * The golden increment scenario (contract §11) through the CLI, on a database of its own: full exports
 * of the fixture give the cursors, the scenario's change is applied, and `export --changed-since` must
 * give the hand-written bytes of every increment case, to a file and to standard output, with a
 * manifest naming the removed jobs; cursors that are not ours, or that this database cannot answer for,
 * exit 2 with one line and leave the previous corpus alone.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { Cursor, type Manifest } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Context, Effect, Layer, Option } from "effect"
import { run } from "./cli.js"

const sha256sum = (file: string) => execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0]

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

type ManifestFile = Manifest.Manifest

const readManifest = (file: string): ManifestFile => JSON.parse(fs.readFileSync(file, "utf8"))

const decoded = (text: string): Cursor.Cursor => {
  const cursor = Cursor.decode(text)
  if (Option.isNone(cursor)) throw new Error(`not a cursor: ${JSON.stringify(text)}`)
  return cursor.value
}

const oneLine = (stderr: string) => {
  expect(stderr.endsWith("\n")).toBe(true)
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

/** What the setup learnt before the change: each case's full export and the cursor its manifest gave. */
interface Before {
  readonly corpus: Buffer
  readonly manifest: ManifestFile
  readonly code: number | null
  readonly stderr: string
}

class Scenario extends Context.Tag("GoldenIncrement/Scenario")<
  Scenario,
  {
    readonly dir: string
    readonly env: { readonly DATABASE_URL: string }
    readonly before: ReadonlyArray<Before>
    /** A cursor the CLI gave on another, empty database of the same kind. */
    readonly otherDatabase: string
  }
>() {}

/** Without --manifest, an increment's removals are only counted, in one line on standard error. */
const removalNote = (c: Golden.IncrementCase): string => {
  const n = Golden.expectedRemoved(c).length
  return n === 0
    ? ""
    : `ground-truth: ${n} changed job${n === 1 ? " has" : "s have"} no line in this increment; ` +
        "--manifest PATH lists them (removed), to drop from the corpus it continues\n"
}

for (const target of TestDatabase.targets()) {
  // A database of its own (the shared golden tests read an unchanged fixture): the fixture, settled,
  // one full export per case through the CLI (the cursors), then the scenario's change, settled.
  const setup = Effect.gen(function* () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-increment-"))
    const env = { DATABASE_URL: (yield* TestDatabase.TestDatabase).url }
    yield* Golden.settle
    const before = yield* Effect.forEach(
      Golden.incrementCases,
      (c, i) => {
        const out = path.join(dir, `before-${i}.jsonl`)
        const manifest = path.join(dir, `before-${i}.manifest.json`)
        return Effect.map(
          run(["export", "--out", out, "--manifest", manifest, ...Golden.flags(c.params)], env),
          (r): Before => ({
            corpus: r.code === 0 ? fs.readFileSync(out) : Buffer.alloc(0),
            manifest: r.code === 0 ? readManifest(manifest) : ({} as ManifestFile),
            code: r.code,
            stderr: r.stderr
          })
        )
      },
      { concurrency: 3 }
    )
    // Another database: on the embedded one, made anew (a copy of the template would share its cluster).
    const other =
      TestDatabase.targets({ fresh: true }).find((t) => t.name === target.name)?.layer ?? target.layer
    const otherDatabase = yield* Effect.gen(function* () {
      const url = (yield* TestDatabase.TestDatabase).url
      const manifest = path.join(dir, "other.manifest.json")
      const r = yield* run(["export", "--out", path.join(dir, "other.jsonl"), "--manifest", manifest], {
        DATABASE_URL: url
      })
      if (r.code !== 0) throw new Error(`export on the other database failed: ${r.stderr}`)
      return readManifest(manifest).cursor
    }).pipe(Effect.provide(other))
    yield* Golden.change
    yield* Golden.settle
    return { dir, env, before, otherDatabase }
  })
  const scenario = Layer.effect(Scenario, setup).pipe(
    Layer.provideMerge(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer)))
  )

  layer(scenario, { timeout: 300_000 })(`CLI golden increments on ${target.name}`, (it) => {
    it.effect("the full exports before the change are the fixture's, each naming its snapshot", () =>
      Effect.gen(function* () {
        const { before } = yield* Scenario
        const databases = new Set<string>()
        Golden.incrementCases.forEach((c, i) => {
          const b = before[i]
          expect(b.stderr, c.name).toBe("")
          expect(b.code, c.name).toBe(0)
          expect(b.corpus.toString("utf8"), c.name).toBe(Golden.expectedBefore(c).toString("utf8"))
          expect(b.manifest, c.name).toMatchObject({
            changed_since: null,
            removed: [],
            rows: c.before.length
          })
          expect(b.manifest.cursor, c.name).toMatch(/^[A-Za-z0-9._~-]+$/)
          databases.add(decoded(b.manifest.cursor).database)
        })
        expect(databases.size).toBe(1)
      })
    )

    it.effect(
      "export --changed-since C --out F --manifest M writes the increment and a manifest of it",
      () =>
        Effect.gen(function* () {
          const { dir, env, before } = yield* Scenario
          const results = yield* Effect.forEach(
            Golden.incrementCases,
            (c, i) => {
              const out = path.join(dir, `increment-${i}.jsonl`)
              const manifest = path.join(dir, `increment-${i}.manifest.json`)
              const since = before[i].manifest.cursor
              return Effect.map(
                run(
                  [
                    "export",
                    "--changed-since",
                    since,
                    "--out",
                    out,
                    "--manifest",
                    manifest,
                    ...Golden.flags(c.params)
                  ],
                  env
                ),
                (r) => ({ c, r, out, manifest, since })
              )
            },
            { concurrency: 3 }
          )
          for (const { c, r, out, manifest, since } of results) {
            expect(r.stderr, c.name).toBe("")
            expect(r.code, c.name).toBe(0)
            expect(r.stdout.length, c.name).toBe(0)
            const expected = Golden.expectedIncrement(c)
            expect(fs.readFileSync(out).toString("utf8"), c.name).toBe(expected.toString("utf8"))
            const m = readManifest(manifest)
            expect(m, c.name).toMatchObject({
              contract_version: "1",
              format: c.format,
              changed_since: since,
              rows: c.jobs.length,
              bytes: expected.length,
              sha256: sha256sum(out)
            })
            expect(m.removed, c.name).toEqual(Golden.expectedRemoved(c))
            // The full export's lines, counted in SQL (a split's hash too): the hand-written list after.
            expect(m.corpus_rows, c.name).toBe(
              c.format === "jsonl" || c.format === "hf" ? c.after.length : null
            )
            // A new cursor, of a later snapshot (the change's transaction came after C) on the same database.
            expect(m.cursor, c.name).not.toBe(since)
            const now = decoded(m.cursor)
            const then = decoded(since)
            expect(now.database, c.name).toBe(then.database)
            expect(now.xmax > then.xmax, c.name).toBe(true)
          }
        }),
      300_000
    )

    it.effect(
      "export --changed-since C to standard output writes the same bytes",
      () =>
        Effect.gen(function* () {
          const { env, before } = yield* Scenario
          const results = yield* Effect.forEach(
            Golden.incrementCases,
            (c, i) =>
              Effect.map(
                run(
                  [
                    "export",
                    ...(i % 2 ? ["--out", "-"] : []),
                    `--changed-since=${before[i].manifest.cursor}`,
                    ...Golden.flags(c.params)
                  ],
                  env
                ),
                (r) => ({ c, r })
              ),
            { concurrency: 3 }
          )
          for (const { c, r } of results) {
            expect(r.stderr, c.name).toBe(removalNote(c))
            expect(r.code, c.name).toBe(0)
            expect(r.stdout.toString("utf8"), c.name).toBe(Golden.expectedIncrement(c).toString("utf8"))
            expect(r.stdout.equals(Golden.expectedIncrement(c)), c.name).toBe(true)
          }
        }),
      300_000
    )

    it.effect(
      "chain law: the full export before, with the increment applied, is the full export after",
      () =>
        Effect.gen(function* () {
          const { env, before } = yield* Scenario
          const results = yield* Effect.forEach(
            Golden.incrementCases,
            (c, i) =>
              Effect.all({
                c: Effect.succeed(c),
                full: run(["export", ...Golden.flags(c.params)], env),
                increment: run(
                  ["export", "--changed-since", before[i].manifest.cursor, ...Golden.flags(c.params)],
                  env
                )
              }),
            { concurrency: 2 }
          )
          for (const { c, full, increment } of results) {
            expect(full.code, c.name).toBe(0)
            expect(full.stdout.toString("utf8"), c.name).toBe(Golden.expectedAfter(c).toString("utf8"))
            expect(increment.code, c.name).toBe(0)
            expect(increment.stderr, c.name).toBe(removalNote(c))
            // The training formats carry no created_at to place a new job by: only jsonl and hf chain here.
            if (c.format === "jsonl" || c.format === "hf") {
              const i = Golden.incrementCases.indexOf(c)
              const chained = Golden.chain(before[i].corpus, increment.stdout, Golden.expectedRemoved(c))
              expect(chained.toString("utf8"), c.name).toBe(full.stdout.toString("utf8"))
            }
          }
        }),
      300_000
    )

    it.effect(
      "an increment from an increment's own cursor is empty, and says so in its manifest",
      () =>
        Effect.gen(function* () {
          const { dir, env, before } = yield* Scenario
          const first = path.join(dir, "again-1.manifest.json")
          const r1 = yield* run(
            ["export", "--changed-since", before[1].manifest.cursor, "--out", "-", "--manifest", first],
            env
          )
          expect(r1.code).toBe(0)
          const c2 = readManifest(first).cursor
          const out = path.join(dir, "again-2.jsonl")
          const second = path.join(dir, "again-2.manifest.json")
          const r2 = yield* run(
            ["export", "--approved-only", "false", "--changed-since", c2, "--out", out, "--manifest", second],
            env
          )
          expect(r2.stderr).toBe("")
          expect(r2.code).toBe(0)
          expect(fs.readFileSync(out).length).toBe(0)
          expect(readManifest(second)).toMatchObject({
            changed_since: c2,
            rows: 0,
            bytes: 0,
            sha256: EMPTY_SHA256,
            removed: []
          })
        }),
      120_000
    )

    /** An export to a file holding a previous corpus, which a refused cursor must leave alone. */
    const refused = (cursor: string, params: ReadonlyArray<readonly [string, string]> = []) =>
      Effect.gen(function* () {
        const { env } = yield* Scenario
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-cursor-"))
        const out = path.join(dir, "corpus.jsonl")
        const previous = Buffer.from('{"previous":"corpus"}\n')
        fs.writeFileSync(out, previous)
        const manifest = path.join(dir, "corpus.manifest.json")
        const r = yield* run(
          [
            "export",
            "--changed-since",
            cursor,
            "--out",
            out,
            "--manifest",
            manifest,
            ...Golden.flags(params)
          ],
          env
        )
        const stdout = yield* run(["export", "--changed-since", cursor, ...Golden.flags(params)], env)
        expect(fs.readFileSync(out).equals(previous)).toBe(true)
        expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
        expect(stdout.code).toBe(r.code)
        expect(stdout.stdout.length).toBe(0)
        expect(stdout.stderr).toBe(r.stderr)
        return r
      })

    it.effect(
      "a cursor that is not ours exits 2 with one --changed-since line",
      () =>
        Effect.gen(function* () {
          const { before } = yield* Scenario
          const real = before[0].manifest.cursor
          const parts = real.split(".")
          const [xmin, xmax, check] = [parts[1], parts[2], parts[10]]
          const withPart = (i: number, value: string) => parts.map((p, j) => (j === i ? value : p)).join(".")
          const edit = (digits: string) =>
            `${digits.slice(0, -1)}${(Number(digits.at(-1)) + (digits.length === 1 ? 1 : 9)) % 10}`
          const wrongCheck = check === "00000000" ? "ffffffff" : "00000000"
          const real0 = decoded(real)
          const bad = [
            "abc",
            "",
            withPart(1, edit(xmin)),
            withPart(2, edit(xmax)),
            withPart(10, wrongCheck),
            `${real}=`,
            // Well formed and correctly checked, but no snapshot: xmin above xmax.
            Cursor.encode({ ...real0, xmin: real0.xmax + 1n })
          ]
          for (const text of bad) expect(text, text).not.toBe(real)
          for (const [i, text] of bad.entries()) {
            const r = yield* refused(text, Golden.incrementCases[i % Golden.incrementCases.length].params)
            expect(r.code, text).toBe(2)
            expect(r.stdout.length, text).toBe(0)
            expect(r.stderr, text).toMatch(/^ground-truth: --changed-since /)
            expect(r.stderr, text).toContain(JSON.stringify(text))
            oneLine(r.stderr)
          }
        }),
      300_000
    )

    it.effect(
      "a cursor this database cannot answer for exits 2 with one line asking for a full export",
      () =>
        Effect.gen(function* () {
          const { before, otherDatabase } = yield* Scenario
          const real = decoded(before[0].manifest.cursor)
          const other = decoded(otherDatabase)
          expect(other.database).not.toBe(real.database)
          const stale = Golden.staleCursors(real, otherDatabase)
          for (const [i, text] of stale.entries()) {
            const r = yield* refused(text, Golden.incrementCases[i % Golden.incrementCases.length].params)
            expect(r.code, text).toBe(2)
            expect(r.stdout.length, text).toBe(0)
            expect(r.stderr, text).toMatch(/^ground-truth: /)
            expect(r.stderr, text).toContain("take a full export")
            expect(r.stderr, text).toContain(text)
            oneLine(r.stderr)
          }
        }),
      300_000
    )
  })
}
