/**
 * The embedded database's session on a full disk, through `Database.layer`: a disk-full error names
 * the directory; one in the WAL (which breaks PGlite's session: its next statement used to spin for
 * ever at 100% CPU) is followed by fast failures, not a hang, and the directory opens again once there
 * is room; one in a table leaves the session and a clean shutdown intact, so the database still opens
 * on the same full disk for reading.
 *
 * Each scenario runs in a child process (EmbeddedDisk.child.ts) on a small tmpfs (root only; skipped
 * otherwise): a spinning PGlite holds its thread, where no test timeout could fire, so the test kills
 * the child past a deadline instead.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestDisk } from "../src/index.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

const cannotMount = TestDisk.unavailable()
if (cannotMount !== undefined)
  console.log(`embedded disk-full tests skipped: cannot mount a tmpfs (${cannotMount})`)

/** A tmpfs of `size` for the test's scope, holding a copy of `source` as `pglite`. */
const diskWith = (size: string, source: string) =>
  Effect.map(TestDisk.tmpfs(size), (mount) => {
    fs.cpSync(source, path.join(mount, "pglite"), { recursive: true })
    return { mount, dataDir: path.join(mount, "pglite") }
  })

/** Past this, a scenario hangs: the child is killed and the test fails. */
const DEADLINE = 60_000

interface Outcome {
  readonly ok?: unknown
  readonly failure?: string
  readonly defect?: string
  readonly ms: number
}
interface Report {
  readonly start?: Outcome
  readonly count?: Outcome
  readonly filled?: Outcome
  readonly after?: Outcome
  readonly later?: Outcome
  readonly closeMs?: number
}

/** Runs `scenario` of EmbeddedDisk.child.ts on `dataDir`; its report, or a failure past DEADLINE. */
const child = (scenario: string, dataDir: string) =>
  Effect.promise(
    () =>
      new Promise<Report & { readonly ms: number }>((resolve, reject) => {
        const started = Date.now()
        const env: Record<string, string> = {}
        for (const [k, v] of Object.entries(process.env))
          if (v !== undefined && k !== "DATABASE_URL") env[k] = v
        const proc = spawn(
          process.execPath,
          ["--import", "tsx", path.join(here, "EmbeddedDisk.child.ts"), scenario, dataDir],
          { cwd: path.join(here, ".."), env, stdio: ["ignore", "pipe", "pipe"] }
        )
        const out: Array<Buffer> = []
        const err: Array<Buffer> = []
        proc.stdout.on("data", (b: Buffer) => out.push(b))
        proc.stderr.on("data", (b: Buffer) => err.push(b))
        const timer = setTimeout(() => proc.kill("SIGKILL"), DEADLINE)
        proc.on("close", (code, signal) => {
          clearTimeout(timer)
          const stdout = Buffer.concat(out).toString("utf8").trim()
          const stderr = Buffer.concat(err).toString("utf8").trim()
          if (signal === "SIGKILL")
            reject(new Error(`${scenario} hung for ${DEADLINE} ms: ${stdout} ${stderr}`))
          else if (code !== 0 || stdout === "") reject(new Error(`${scenario} exited ${code}: ${stderr}`))
          else resolve({ ...(JSON.parse(stdout) as Report), ms: Date.now() - started })
        })
      })
  )

const noSpace = (dataDir: string) =>
  `cannot write the embedded database at ${dataDir}: no space left on device (ENOSPC); free some space`
const noSpaceEarlier = (dataDir: string) =>
  `cannot write the embedded database at ${dataDir}: no space left on device (ENOSPC) earlier in this process`

/** A new database (~39 MB), made once on a roomy disk and copied into each test's tmpfs. */
let template: string | undefined
const fresh = Effect.gen(function* () {
  if (template === undefined) {
    const dir = path.join(tmp("gt-db-disk-template-"), "pglite")
    const r = yield* child("open", dir)
    expect(r.count?.ok).toBeGreaterThan(0)
    template = dir
  }
  return template
})

describe.skipIf(cannotMount !== undefined)("the embedded database's session on a full disk", () => {
  afterAll(() => {
    if (template !== undefined) fs.rmSync(path.dirname(template), { recursive: true, force: true })
  })

  // In a statement, in a transaction's statement, and in the COMMIT that writes a transaction's WAL.
  for (const scenario of ["wal", "wal-transaction", "commit"]) {
    it.scoped(
      `${scenario}: a WAL segment that cannot be created fails in words, later statements fail at once, and the directory opens again once there is room`,
      () =>
        Effect.gen(function* () {
          const source = yield* fresh
          // ~9 MB free: a 1 MB message per statement needs the next 16 MB WAL segment within a few.
          const { mount, dataDir } = yield* diskWith("48m", source)
          const r = yield* child(scenario, dataDir)
          console.log(`${scenario}: ${JSON.stringify(r)}`)
          // A failure, not a defect: in a transaction, the ROLLBACK that follows succeeds. A failed COMMIT
          // is a defect: @effect/sql's transactions make it one (the CLI reports it like a failure).
          expect(scenario === "commit" ? r.filled?.defect : r.filled?.failure).toContain(noSpace(dataDir))
          expect(r.after?.failure).toContain(noSpaceEarlier(dataDir))
          expect(r.after?.ms).toBeLessThan(5_000)
          // A second later, every connection was dropped; a new one is refused with the reason.
          expect(r.later?.failure).toMatch(
            /^Failed to acquire connection: cannot write the embedded database at /
          )
          expect(r.closeMs).toBeLessThan(5_000)

          // On the same full disk it cannot recover, and says so at once.
          const full = yield* child("open", dataDir)
          expect(full.start?.failure).toMatch(
            new RegExp(
              `^cannot open the embedded database at ${dataDir}: no space left on device \\(ENOSPC\\): it was not shut down cleanly`
            )
          )

          // Copied to a roomy disk, it recovers and opens.
          const roomy = path.join(tmp("gt-db-disk-roomy-"), "pglite")
          fs.cpSync(dataDir, roomy, { recursive: true })
          expect(fs.readdirSync(mount)).toEqual(["pglite"])
          const reopened = yield* child("open", roomy)
          expect(reopened.count?.ok).toBeGreaterThan(0)
          fs.rmSync(path.dirname(roomy), { recursive: true, force: true })
        }),
      300_000
    )
  }

  it.scoped(
    "a table that cannot grow fails in words and leaves the session and its shutdown whole: it reopens on the same full disk",
    () =>
      Effect.gen(function* () {
        const source = yield* fresh
        // ~3 MB free: the table fills it before the WAL needs its next segment.
        const { dataDir } = yield* diskWith("42m", source)
        const r = yield* child("table", dataDir)
        console.log(`table: ${JSON.stringify(r)}`)
        expect(r.filled?.failure).toContain(noSpace(dataDir))
        expect(r.after?.ok).toBeGreaterThan(0)
        expect(r.later?.ok).toBeGreaterThan(0)
        const reopened = yield* child("open", dataDir)
        expect(reopened.count?.ok).toBeGreaterThan(0)
      }),
    300_000
  )
})
