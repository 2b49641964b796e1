/**
 * The shared golden suite through the CLI: every filter combination, to `--out` and to standard
 * output, and cut into 2 and 3 shards (`--shards`, concatenated), and every stats case, on every test
 * database; the bytes must equal the hand-written ones. (With workers: `Workers.test.ts`.)
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { Version } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000 })(`CLI golden on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url }))
    /** `export ARGS <the case's flags>` for every case, three at a time: each case with its result. */
    const exportEach = (args: (i: number) => ReadonlyArray<string>) =>
      Effect.forEach(
        Golden.exportCases,
        (c, i) =>
          Effect.map(
            Effect.flatMap(env, (e) => run(["export", ...args(i), ...Golden.flags(c.params)], e)),
            (r) => ({ c, r, i })
          ),
        { concurrency: 3 }
      )

    it.effect(
      "export --out PATH writes the golden bytes for every case, and --manifest hashes them as sha256sum does",
      () =>
        Effect.gen(function* () {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-"))
          const out = (i: number) => path.join(dir, `case-${i}.jsonl`)
          const manifestOf = (i: number) => path.join(dir, `case-${i}.manifest.json`)
          const results = yield* exportEach((i) => ["--out", out(i), "--manifest", manifestOf(i)])
          for (const { c, r, i } of results) {
            const [file, manifest] = [out(i), manifestOf(i)]
            expect(r.stderr, c.name).toBe("")
            expect(r.code, c.name).toBe(0)
            expect(r.stdout.length, c.name).toBe(0)
            const expected = Golden.expectedExport(c)
            expect(fs.readFileSync(file).toString("utf8"), c.name).toBe(expected.toString("utf8"))
            const m = JSON.parse(fs.readFileSync(manifest, "utf8"))
            const sha256sum = execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0]
            expect(m, c.name).toMatchObject({
              contract_version: "1",
              generator: Version.generator,
              format: c.format,
              rows: c.jobs.length,
              bytes: expected.length,
              sha256: sha256sum
            })
            expect(m.snapshot_time, c.name).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)
          }
          // Nothing but the corpora and their manifests: no temporary files left behind.
          expect(fs.readdirSync(dir).sort()).toEqual(
            Golden.exportCases.flatMap((_, i) => [`case-${i}.jsonl`, `case-${i}.manifest.json`]).sort()
          )
        }),
      300_000
    )

    it.effect(
      "export --out X.parquet writes the bytes the server answers an Accept of Parquet with, for every case",
      () =>
        Effect.gen(function* () {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-"))
          const out = (i: number) => path.join(dir, `case-${i}.parquet`)
          const results = yield* exportEach((i) => ["--out", out(i)])
          for (const { c, r, i } of results) {
            expect(r.stderr, c.name).toBe("")
            expect(r.code, c.name).toBe(0)
            expect(fs.readFileSync(out(i)).equals(yield* Golden.expectedParquet(c)), c.name).toBe(true)
          }
          expect(fs.readdirSync(dir).sort()).toEqual(
            Golden.exportCases.map((_, i) => `case-${i}.parquet`).sort()
          )
        }),
      300_000
    )

    it.effect(
      "export to standard output writes the golden bytes for every filter combination",
      () =>
        Effect.gen(function* () {
          const results = yield* exportEach((i) => (i % 2 ? ["--out", "-"] : []))
          for (const { c, r } of results) {
            expect(r.code, c.name).toBe(0)
            expect(r.stdout.equals(Golden.expectedExport(c)), c.name).toBe(true)
          }
        }),
      300_000
    )

    it.effect(
      "export --shards 2 and 3: every case's files, concatenated in name order, are the golden bytes",
      () =>
        Effect.gen(function* () {
          const e = yield* env
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-"))
          // The inputs cut into shards are core's (packages/db's Shards test, every case): here, where each
          // case costs two processes, the CLI's cut of every other case.
          const runs = Golden.exportCases.flatMap((c, i) =>
            c.params.some(([k]) => k === "input")
              ? []
              : [2, 3].map((count) => ({ c, count, out: path.join(dir, `case-${i}-${count}`) }))
          )
          const results = yield* Effect.forEach(
            runs,
            ({ c, count, out }) =>
              Effect.map(
                run(["export", "--shards", String(count), "--out", out, ...Golden.flags(c.params)], e),
                (r) => ({
                  c,
                  count,
                  out,
                  r
                })
              ),
            { concurrency: 3 }
          )
          for (const { c, count, out, r } of results) {
            const name = `${c.name} --shards ${count}`
            expect(r.code, name).toBe(0)
            const parts = fs
              .readdirSync(out)
              .filter((f) => f.startsWith("part-"))
              .sort()
            expect(parts, name).toEqual(
              Array.from({ length: count }, (_, i) => `part-0000${i}-of-0000${count}.jsonl`)
            )
            const whole = Buffer.concat(parts.map((f) => fs.readFileSync(path.join(out, f))))
            expect(whole.toString("utf8"), name).toBe(Golden.expectedExport(c).toString("utf8"))
          }
        }),
      300_000
    )

    it.effect(
      "stats prints the golden JSON",
      () =>
        Effect.gen(function* () {
          for (const c of Golden.statsCases) {
            const r = yield* Effect.flatMap(env, (e) => run(["stats", ...Golden.flags(c.params)], e))
            expect(r.code, c.name).toBe(0)
            expect(r.stdout.toString("utf8"), c.name).toBe(Golden.expectedStats(c).toString("utf8"))
          }
        }),
      60_000
    )

    it.effect(
      "report writes the golden page, to standard output and to --out",
      () =>
        Effect.gen(function* () {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-"))
          for (const c of Golden.reportCases) {
            const expected = Golden.expectedReport(c).toString("utf8")
            const r = yield* Effect.flatMap(env, (e) => run(["report", ...Golden.flags(c.params)], e))
            expect(r.code, c.name).toBe(0)
            expect(r.stdout.toString("utf8"), c.name).toBe(expected)
            const out = path.join(dir, c.file)
            const f = yield* Effect.flatMap(env, (e) =>
              run(["report", "--out", out, ...Golden.flags(c.params)], e)
            )
            expect(f.code, c.name).toBe(0)
            expect(fs.readFileSync(out, "utf8"), c.name).toBe(expected)
          }
        }),
      60_000
    )
  })
}
