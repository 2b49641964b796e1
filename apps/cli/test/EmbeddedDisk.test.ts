/**
 * The embedded database on a (nearly) full disk: every way of running out of space ends in one line on
 * standard error naming the data directory and ENOSPC, exit status 1, within a deadline (no PGlite
 * spinning at 100% CPU), and leaves a directory that opens and exports once there is room.
 *
 * Each scenario runs the real CLI on a small tmpfs mounted for the test (root only; skipped otherwise).
 * Sizes were measured with PGlite 0.5.14: a new database takes ~39 MB (16 MB of it the first WAL
 * segment), its 1,000 demo jobs ~1 MB more, and a WAL segment that fills up needs 16 MB for the next.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { TestDisk } from "@ground-truth/db"
import { Effect } from "effect"
import { type Result, start } from "./cli.js"

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

const cannotMount = TestDisk.unavailable()
if (cannotMount !== undefined)
  console.log(`embedded disk-full tests skipped: cannot mount a tmpfs (${cannotMount})`)

const { tmpfs: disk, resize, free: freeBytes } = TestDisk

/**
 * Longest any one run may take. A run that passes it is a hang (the bug: PGlite spinning in XLogFlush):
 * it is killed and the test fails saying so, well before vitest's own timeout.
 */
const DEADLINE = 90_000

interface Run extends Result {
  readonly ms: number
}

/** Runs the CLI on the embedded database at `dataDir`; kills it and fails the test past DEADLINE. */
const cli = (args: ReadonlyArray<string>, dataDir: string) =>
  Effect.promise(async (): Promise<Run> => {
    const started = Date.now()
    const child = start(args, { DATABASE_URL: undefined, GROUND_TRUTH_DATA_DIR: dataDir })
    let timer: NodeJS.Timeout | undefined
    const hung = new Promise<"hung">((resolve) => {
      timer = setTimeout(() => resolve("hung"), DEADLINE)
    })
    const first = await Promise.race([child.done, hung])
    clearTimeout(timer)
    if (first === "hung") {
      child.kill("SIGKILL")
      const r = await child.done
      return {
        ...r,
        ms: Date.now() - started,
        stderr: `HUNG for ${DEADLINE} ms, killed. stderr: ${r.stderr}`
      }
    }
    return { ...first, ms: Date.now() - started }
  })

/** Exit 1 and one line on stderr naming the directory and the cause. */
const failsForSpace = (r: Run, dataDir: string, verb: "create" | "open" | "write") => {
  expect(r.stderr).not.toMatch(/^HUNG/)
  expect(r.code).toBe(1)
  expect(r.stderr.endsWith("\n")).toBe(true)
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(r.stderr).toContain(
    `cannot ${verb} the embedded database at ${dataDir}: no space left on device (ENOSPC)`
  )
  expect(r.stderr).not.toMatch(/\n\s+at |\[object Object\]/)
}

const succeeds = (r: Run) => {
  expect(r.stderr).not.toMatch(/^HUNG/)
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 })
}

const jobs = (r: Run) => (JSON.parse(r.stdout.toString("utf8")) as { readonly total_jobs: number }).total_jobs

/** A database with its 1,000 demo jobs, made once on a roomy disk and copied into each test's tmpfs. */
let template: string | undefined
const seeded = Effect.gen(function* () {
  if (template === undefined) {
    const dir = path.join(tmp("gt-disk-template-"), "pglite")
    const r = yield* cli(["stats"], dir)
    succeeds(r)
    template = dir
  }
  return template
})

/** A disk of `size` holding a copy of the seeded database as `pglite`, for the test's scope. */
const seededDisk = (size: string) =>
  Effect.gen(function* () {
    const source = yield* seeded
    const mount = yield* disk(size)
    const dataDir = path.join(mount, "pglite")
    fs.cpSync(source, dataDir, { recursive: true })
    return { mount, dataDir }
  })

describe.skipIf(cannotMount !== undefined)("the embedded database on a full disk", () => {
  afterAll(() => {
    if (template !== undefined) fs.rmSync(path.dirname(template), { recursive: true, force: true })
  })

  it.scoped(
    "too small for a new database: exit 1 naming the directory and ENOSPC, nothing half-made left; with room, the next export creates and seeds it",
    () =>
      Effect.gen(function* () {
        const mount = yield* disk("16m")
        const dataDir = path.join(mount, "pglite")
        const r = yield* cli(["export", "--out", path.join(mount, "x.jsonl")], dataDir)
        failsForSpace(r, dataDir, "create")
        // Nothing half-made: no database, no staging directory, no lock, no partial corpus.
        expect(fs.readdirSync(mount)).toEqual([])
        console.log(`new database on a 16 MB disk: exit ${r.code} after ${r.ms} ms: ${r.stderr.trim()}`)

        resize(mount, "64m")
        const out = path.join(mount, "x.jsonl")
        const ok = yield* cli(["export", "--out", out], dataDir)
        succeeds(ok)
        expect(ok.stderr).toMatch(/was empty: seeded 1000 demo jobs/)
        expect(fs.readFileSync(out, "utf8").split("\n").length).toBeGreaterThan(500)
      }),
    300_000
  )

  it.scoped(
    "room for the database but not its demo data: exit 1 naming ENOSPC, again at once on the same disk; with room it seeds and exports",
    () =>
      Effect.gen(function* () {
        const mount = yield* disk("39m")
        const dataDir = path.join(mount, "pglite")
        const r = yield* cli(["stats"], dataDir)
        failsForSpace(r, dataDir, "write")
        console.log(`seeding on a 39 MB disk: exit ${r.code} after ${r.ms} ms: ${r.stderr.trim()}`)
        // The database itself is whole: the next run opens it and fails the same way, not differently.
        const again = yield* cli(["stats"], dataDir)
        failsForSpace(again, dataDir, "write")

        resize(mount, "64m")
        const ok = yield* cli(["stats"], dataDir)
        succeeds(ok)
        expect(jobs(ok)).toBe(1000)
      }),
    300_000
  )

  it.scoped(
    "WAL growth on a nearly full disk (seed-demo): exit 1 instead of spinning; on the same disk the next run says why it cannot open; with room it exports",
    () =>
      Effect.gen(function* () {
        const { mount, dataDir } = yield* seededDisk("48m")
        console.log(`seed-demo with ${freeBytes(mount)} bytes free`)
        const r = yield* cli(["seed-demo", "--jobs", "20000"], dataDir)
        failsForSpace(r, dataDir, "write")
        console.log(`seed-demo on a nearly full disk: exit ${r.code} after ${r.ms} ms: ${r.stderr.trim()}`)

        // Still full: opening either works (the failure left the database clean) or says why it cannot.
        const full = yield* cli(["stats"], dataDir)
        expect(full.stderr).not.toMatch(/^HUNG/)
        if (full.code !== 0) failsForSpace(full, dataDir, "open")
        console.log(
          `reopened on the same full disk: exit ${full.code} after ${full.ms} ms: ${full.stderr.trim()}`
        )

        resize(mount, "128m")
        const out = path.join(mount, "x.jsonl")
        const ok = yield* cli(["export", "--out", out], dataDir)
        succeeds(ok)
        const stats = yield* cli(["stats"], dataDir)
        succeeds(stats)
        expect(jobs(stats)).toBeGreaterThanOrEqual(1000)
      }),
    300_000
  )

  it.scoped(
    "a full disk does not stop reading: a cleanly closed database exports and reports stats with a few KB free",
    () =>
      Effect.gen(function* () {
        const { mount, dataDir } = yield* seededDisk("48m")
        // Fill the disk but for 256 KiB.
        const filler = path.join(mount, "filler")
        fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(mount) - 256 * 1024)))
        const r = yield* cli(["stats"], dataDir)
        succeeds(r)
        expect(jobs(r)).toBe(1000)
        const e = yield* cli(["export"], dataDir)
        succeeds(e)
        expect(e.stdout.length).toBeGreaterThan(100_000)
      }),
    300_000
  )

  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    it.scoped(
      `a creation stopped half-way (${signal}) leaves no half-made database: the next run creates it afresh`,
      () =>
        Effect.gen(function* () {
          const mount = yield* disk("64m")
          const dataDir = path.join(mount, "pglite")
          const child = start(["stats"], { DATABASE_URL: undefined, GROUND_TRUTH_DATA_DIR: dataDir })
          // Stop it while PGlite writes the new database's last files (PG_VERSION is not written last).
          yield* Effect.promise(async () => {
            const deadline = Date.now() + 60_000
            const used = () => 64 * 1024 * 1024 - freeBytes(mount)
            while (Date.now() < deadline && used() < 37 * 1024 * 1024)
              await new Promise((r) => setTimeout(r, 2))
          })
          const stopped = Date.now()
          child.kill(signal)
          const r = yield* Effect.promise(() => child.done)
          console.log(`${signal} after ${Date.now() - stopped} ms; left ${fs.readdirSync(mount).join(", ")}`)
          if (signal === "SIGTERM") {
            expect(r.code).toBe(130)
            expect(Date.now() - stopped).toBeLessThan(30_000)
          }

          const ok = yield* cli(["stats"], dataDir)
          succeeds(ok)
          expect(jobs(ok)).toBe(1000)
          expect(fs.readdirSync(mount).sort()).toEqual(["pglite"])
        }),
      300_000
    )
  }

  it.scoped(
    "a directory half-made by an older version is created afresh: PostgreSQL's folders only, or all but the last files",
    () =>
      Effect.gen(function* () {
        const mount = yield* disk("64m")
        // Killed before PG_VERSION was written: folders and a few files.
        const early = path.join(mount, "early")
        for (const d of ["base/1", "global", "pg_wal", "pg_xact"])
          fs.mkdirSync(path.join(early, d), { recursive: true })
        fs.writeFileSync(path.join(early, "base/1/1259"), Buffer.alloc(8192))
        const first = yield* cli(["stats"], early)
        succeeds(first)
        expect(jobs(first)).toBe(1000)
        fs.rmSync(early, { recursive: true })

        // Out of space after PG_VERSION but before pg_hba.conf and pg_ident.conf, which PGlite copies
        // last (PostgreSQL does not start without pg_hba.conf): as it was left on a 38 MB disk.
        const source = yield* seeded
        const late = path.join(mount, "late")
        fs.cpSync(source, late, { recursive: true })
        for (const f of ["pg_hba.conf", "pg_ident.conf", "pg_stat/pgstat.stat", "global/pg_internal.init"]) {
          fs.rmSync(path.join(late, f), { force: true })
        }
        for (const d of fs.readdirSync(path.join(late, "base"))) {
          fs.rmSync(path.join(late, "base", d, "pg_internal.init"), { force: true })
        }
        const second = yield* cli(["stats"], late)
        succeeds(second)
        expect(second.stderr).toMatch(/was empty: seeded 1000 demo jobs/)
        expect(jobs(second)).toBe(1000)
      }),
    300_000
  )

  it.scoped(
    "a directory that holds other files is left alone: exit 1 saying so",
    () =>
      Effect.gen(function* () {
        const mount = yield* disk("1m")
        const dataDir = path.join(mount, "pglite")
        fs.mkdirSync(dataDir)
        fs.writeFileSync(path.join(dataDir, "notes.txt"), "mine\n")
        const r = yield* cli(["stats"], dataDir)
        expect(r.code).toBe(1)
        expect(r.stderr).toBe(
          `ground-truth: cannot create the embedded database at ${dataDir}: the directory holds no database ` +
            "but other files (notes.txt); empty it or set GROUND_TRUTH_DATA_DIR\n"
        )
        expect(fs.readdirSync(dataDir)).toEqual(["notes.txt"])
      }),
    300_000
  )
})
