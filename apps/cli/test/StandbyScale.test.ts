/**
 * One snapshot, many workers, on a hot standby (contract §15, issue 29): on a cluster of the test's own
 * (`TestCluster`: a primary and a streaming standby), the standby serves every export, increment and
 * plan with the bytes the primary would give:
 *
 * - a full export on the standby, with one worker and with two, is the primary's, byte for byte;
 * - `--shards 3` on the standby is its single export cut in three, and the manifest's cursor is an
 *   increment's `--changed-since` on the primary and on the standby alike (the chain law of §11);
 * - a plan on the standby holds its snapshot while the standby replays the primary's later writes: its
 *   shards, each written by a process of its own after that replay, are the export of the plan's time;
 * - a standby whose replay is paused behind a cursor refuses the increment (exit 1, one line, no file),
 *   and gives it once it has replayed; a plan made while its replay is paused is that paused snapshot;
 * - a plan needs `hot_standby_feedback` on the standby (the planner warns when it is off): without it, replaying the primary's VACUUM of
 *   rows the plan's snapshot sees ends the plan's session (a recovery conflict), and its shards are then
 *   refused in one line, exit 1, no file: never a shard from another snapshot.
 *
 * Skipped where the PostgreSQL server binaries are absent.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { TestCluster } from "@ground-truth/db"
import { Context, Effect, Layer } from "effect"
import { planned, type Running, realSleep, run } from "./cli.js"

const oneLine = (stderr: string) => {
  expect(stderr.endsWith("\n")).toBe(true)
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

/** The CLI against `node`; `env` adds to the environment. */
const gt = (node: TestCluster.Node, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  run(args, { DATABASE_URL: node.url, ...env })

const ok = (node: TestCluster.Node, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.tap(gt(node, args, env), (r) =>
    Effect.sync(() => expect(r.code, `${node.name}: ${args.join(" ")}: ${r.stderr}`).toBe(0))
  )

/** A full export of `node` now (standard output). */
const full = (node: TestCluster.Node, env: Record<string, string> = {}) =>
  Effect.map(ok(node, ["export"], env), (r) => r.stdout)

interface Manifest {
  readonly cursor: string
  readonly rows: number
  readonly changed_since: string | null
  readonly removed: ReadonlyArray<string>
}

const readJson = <A>(file: string): A => JSON.parse(fs.readFileSync(file, "utf8")) as A

/** An increment of `node` since `cursor`: its lines and its manifest. */
const increment = (node: TestCluster.Node, cursor: string, dir: string, name: string) =>
  Effect.gen(function* () {
    const out = path.join(dir, `${name}.jsonl`)
    const manifest = path.join(dir, `${name}.manifest.json`)
    yield* ok(node, ["export", "--changed-since", cursor, "--out", out, "--manifest", manifest])
    return { lines: fs.readFileSync(out), manifest: readJson<Manifest>(manifest) }
  })

const lines = (bytes: Buffer) => {
  const text = bytes.toString("utf8")
  expect(text === "" || text.endsWith("\n")).toBe(true)
  return text === "" ? [] : text.slice(0, -1).split("\n")
}

const idOf = (line: string) => (JSON.parse(line) as { job_id: string }).job_id

/**
 * Contract §5's order: `created_at` (RFC 3339 UTC, its fraction padded to microseconds, so that text
 * order is time order), then `job_id` (lower-case hex: text order is PostgreSQL's uuid order).
 */
const orderKey = (line: string) => {
  const sample = JSON.parse(line) as { created_at: string; job_id: string }
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(sample.created_at)
  expect(m, sample.created_at).not.toBeNull()
  return `${m![1]}.${(m![2] ?? "").padEnd(6, "0")} ${sample.job_id}`
}

/**
 * The chain law applied by hand (contract §11): the corpus's lines replaced by the increment's by
 * `job_id`, the increment's new jobs added, its `removed` dropped, in the export's order.
 */
const applied = (corpus: Buffer, changes: Buffer, removed: ReadonlyArray<string>) => {
  const byId = new Map<string, string>()
  for (const line of lines(corpus)) byId.set(idOf(line), line)
  for (const line of lines(changes)) byId.set(idOf(line), line)
  for (const id of removed) byId.delete(id)
  const keyed = [...byId.values()].map((line) => [orderKey(line), line] as const)
  keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Buffer.from(keyed.map(([, line]) => `${line}\n`).join(""), "utf8")
}

/**
 * Writes on the primary that change every kind of line an increment carries: `reviewed` approved jobs
 * reviewed again (their lines change), `unapproved` approved jobs no longer approved (`removed`), and
 * `added` new demo jobs (new lines, among the old ones in the export's order). Returns the ids of the
 * jobs it unapproved.
 */
const writes = (
  p: TestCluster.Node,
  sql: SqlClient.SqlClient,
  round: number,
  counts: { readonly reviewed: number; readonly unapproved: number; readonly added: number }
) =>
  Effect.gen(function* () {
    yield* sql
      .unsafe(
        `UPDATE jobs SET reviewed_by = $1, reviewed_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM jobs WHERE approved ORDER BY id OFFSET $2 LIMIT $3)`,
        [`standby-scale-${round}`, round * 37, counts.reviewed]
      )
      .pipe(Effect.orDie)
    const gone = yield* sql
      .unsafe<{ readonly id: string }>(
        `UPDATE jobs SET approved = false, updated_at = now()
         WHERE id IN (SELECT id FROM jobs WHERE approved ORDER BY id DESC OFFSET $1 LIMIT $2)
         RETURNING id::text AS id`,
        [round * 11, counts.unapproved]
      )
      .pipe(Effect.orDie)
    expect(gone).toHaveLength(counts.unapproved)
    yield* ok(p, ["seed-demo", "--jobs", String(counts.added), "--seed", String(2900 + round)])
    return gone.map((r) => r.id).sort()
  })

/** A plan process against `node`, once it says it holds its snapshot (its plan file then complete). */
/** A plan process on `node`, once it holds its snapshot (a busy cluster's node may take a while). */
const plannedOn = (node: TestCluster.Node, args: ReadonlyArray<string>) =>
  planned(args, { DATABASE_URL: node.url }, 60)

interface PlanFile {
  readonly id: string
  readonly cursor: string
  readonly transaction_snapshot: string
  readonly jobs: number
  readonly shards: ReadonlyArray<{ readonly jobs: number }>
}

/** Every shard of a plan, each written by a process of its own against `node`, all at once. */
const planShards = (node: TestCluster.Node, plan: string, count: number, dir: string) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => {
      const out = path.join(dir, `shard-${i}.jsonl`)
      return Effect.map(gt(node, ["export", "--plan", plan, "--shard", String(i), "--out", out]), (r) => {
        expect([r.code, r.stderr], `shard ${i}`).toEqual([0, ""])
        return fs.readFileSync(out)
      })
    },
    { concurrency: count }
  )

/** Stops a plan with Ctrl-C, as its user would: exit 130, its snapshot released. */
const stopPlan = (planner: Running) =>
  Effect.gen(function* () {
    planner.kill("SIGINT")
    const stopped = yield* Effect.promise(() => planner.done)
    expect(stopped.code, stopped.stderr).toBe(130)
    expect(stopped.stderr).toContain("stopped; its snapshot is released")
  })

const PARTS = ["part-00000-of-00003.jsonl", "part-00001-of-00003.jsonl", "part-00002-of-00003.jsonl"]

/** The cluster every case shares: a primary with a demo corpus, and a standby that has replayed it. */
class Cluster extends Context.Tag("StandbyScale/Cluster")<
  Cluster,
  {
    readonly cluster: TestCluster.Cluster
    readonly p: TestCluster.Node
    readonly s: TestCluster.Node
    readonly pSql: SqlClient.SqlClient
    readonly sSql: SqlClient.SqlClient
    readonly dir: string
  }
>() {}

const JOBS = 1200

const fixture = Layer.scoped(
  Cluster,
  Effect.gen(function* () {
    const cluster = yield* Effect.orDie(TestCluster.make)
    const p = yield* Effect.orDie(cluster.primary("p"))
    yield* ok(p, ["migrate"])
    yield* ok(p, ["seed-demo", "--jobs", String(JOBS), "--seed", "29"])
    const s = yield* Effect.orDie(cluster.standby("s", p))
    yield* Effect.orDie(cluster.caughtUp(s, p))
    const pSql = yield* cluster.client(p)
    const sSql = yield* cluster.client(s)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-standby-scale-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    return { cluster, p, s, pSql, sSql, dir }
  })
)

const inRecovery = (sql: SqlClient.SqlClient) =>
  Effect.map(
    Effect.orDie(sql<{ readonly standby: boolean }>`SELECT pg_is_in_recovery() AS standby`),
    ([row]) => row.standby
  )

const approvedCount = (sql: SqlClient.SqlClient) =>
  Effect.map(
    Effect.orDie(sql<{ readonly n: string }>`SELECT count(*)::text AS n FROM jobs WHERE approved`),
    ([row]) => Number(row.n)
  )

/**
 * Sets the standby's `hot_standby_feedback` and `max_standby_streaming_delay` (milliseconds), and waits
 * until they apply: the standby's sessions read them, and the primary sees the feedback (a `backend_xmin`
 * for the standby) or no longer does.
 */
const configure = (
  pSql: SqlClient.SqlClient,
  sSql: SqlClient.SqlClient,
  settings: { readonly feedback: boolean; readonly delayMs: number }
) =>
  Effect.gen(function* () {
    const feedback = settings.feedback ? "on" : "off"
    yield* Effect.orDie(sSql.unsafe(`ALTER SYSTEM SET hot_standby_feedback = ${feedback}`))
    yield* Effect.orDie(sSql.unsafe(`ALTER SYSTEM SET max_standby_streaming_delay = ${settings.delayMs}`))
    yield* Effect.orDie(sSql`SELECT pg_reload_conf()`)
    let seen = ""
    for (let i = 0; i < 600; i++) {
      const [standby] = yield* Effect.orDie(
        sSql<{ readonly feedback: string; readonly delay: string }>`
          SELECT current_setting('hot_standby_feedback') AS feedback,
                 (SELECT setting FROM pg_settings WHERE name = 'max_standby_streaming_delay') AS delay`
      )
      const [primary] = yield* Effect.orDie(
        pSql<{ readonly held: boolean }>`
          SELECT coalesce(bool_and(backend_xmin IS NOT NULL), false) AS held FROM pg_stat_replication`
      )
      seen = `${standby.feedback} ${standby.delay} ${primary.held}`
      if (seen === `${feedback} ${settings.delayMs} ${settings.feedback}`) return
      yield* realSleep(100)
    }
    expect(seen, "the standby's settings").toBe(`${feedback} ${settings.delayMs} ${settings.feedback}`)
  })

/**
 * Waits until the primary has the standby's feedback for the plan's snapshot: a `backend_xmin` no newer
 * than the snapshot's own xmin, so that nothing the snapshot sees is vacuumed away on the primary.
 */
const feedbackHolds = (pSql: SqlClient.SqlClient, plan: PlanFile) =>
  Effect.gen(function* () {
    const xmin = Number(plan.transaction_snapshot.split(":")[0])
    expect(Number.isSafeInteger(xmin) && xmin > 0, plan.transaction_snapshot).toBe(true)
    let seen: string | null = null
    for (let i = 0; i < 300; i++) {
      const [row] = yield* Effect.orDie(
        pSql<{ readonly xmin: string | null }>`SELECT backend_xmin::text AS xmin FROM pg_stat_replication`
      )
      seen = row?.xmin ?? null
      if (seen !== null && Number(seen) <= xmin) return
      yield* realSleep(100)
    }
    expect(seen, `the primary's backend_xmin for the standby, for a plan at xmin ${xmin}`).toBe(String(xmin))
  })

if (TestCluster.binaries() !== undefined) {
  layer(fixture, { timeout: 300_000, excludeTestServices: true })(
    "exports, increments and plans on a hot standby",
    (it) => {
      it.effect(
        "a full export on the standby is the primary's, with one worker and with two",
        () =>
          Effect.gen(function* () {
            const { p, s, pSql, sSql } = yield* Cluster
            expect([yield* inRecovery(pSql), yield* inRecovery(sSql)]).toEqual([false, true])
            const onP = yield* full(p)
            const onS = yield* full(s)
            // As many lines as the primary has approved jobs (the default filter), in the export's order.
            const rows = lines(onP)
            expect(rows).toHaveLength(yield* approvedCount(pSql))
            expect(rows.length).toBeGreaterThan(JOBS / 2)
            expect(rows.map(orderKey)).toEqual(rows.map(orderKey).sort())
            expect(onS.equals(onP)).toBe(true)
            // Two workers over ranges of 50 rows: every worker imports the standby's exported snapshot.
            const two = yield* ok(s, ["export", "--workers", "2"], { GROUND_TRUTH_WORKER_RANGE_ROWS: "50" })
            expect(two.stderr).toBe("")
            expect(two.stdout.equals(onP)).toBe(true)
          }),
        120_000
      )

      it.effect(
        "--shards 3 on the standby is its export; the manifest's cursor answers increments on both nodes",
        () =>
          Effect.gen(function* () {
            const { cluster, p, s, pSql, dir } = yield* Cluster
            yield* Effect.orDie(cluster.caughtUp(s, p))
            const out = path.join(dir, "shards")
            const r = yield* ok(s, ["export", "--shards", "3", "--workers", "2", "--out", out], {
              GROUND_TRUTH_WORKER_RANGE_ROWS: "50"
            })
            const manifest = readJson<Manifest>(path.join(out, "manifest.json"))
            expect(r.stderr).toBe(`${out}: ${manifest.rows} rows in 3 shards at ${manifest.cursor}\n`)
            expect(fs.readdirSync(out).sort()).toEqual(["manifest.json", ...PARTS])
            const parts = PARTS.map((f) => fs.readFileSync(path.join(out, f)))
            for (const part of parts) expect(lines(part).length).toBeGreaterThan(0)
            const corpus = Buffer.concat(parts)
            const single = yield* full(s)
            expect(corpus.equals(single)).toBe(true)
            expect(lines(corpus)).toHaveLength(manifest.rows)

            // Writes on the primary, replayed by the standby: an increment from the shards' cursor.
            const gone = yield* writes(p, pSql, 1, { reviewed: 40, unapproved: 6, added: 25 })
            yield* Effect.orDie(cluster.caughtUp(s, p))
            const now = yield* full(p)
            expect(now.equals(corpus)).toBe(false)
            expect((yield* full(s)).equals(now)).toBe(true)
            const fromP = yield* increment(p, manifest.cursor, dir, "inc-p")
            const fromS = yield* increment(s, manifest.cursor, dir, "inc-s")
            // Both nodes answer the same increment: the changed jobs that still match, and the ones gone.
            expect(fromS.lines.equals(fromP.lines)).toBe(true)
            expect(fromS.manifest.removed).toEqual(fromP.manifest.removed)
            expect(fromP.manifest.changed_since).toBe(manifest.cursor)
            // Removed: every job unapproved (and maybe new jobs that never matched), none that matches now.
            expect(fromP.manifest.removed).toEqual(expect.arrayContaining(gone))
            const nowIds = new Set(lines(now).map(idOf))
            expect(fromP.manifest.removed.filter((id) => nowIds.has(id))).toEqual([])
            const changed = lines(fromP.lines)
            expect(changed.length).toBeGreaterThanOrEqual(40)
            expect(changed.length).toBeLessThan(lines(now).length / 2)
            // The chain law: the shards' corpus with the increment applied is a full export now.
            expect(applied(corpus, fromS.lines, fromS.manifest.removed).toString("utf8")).toBe(
              now.toString("utf8")
            )
            // And the increment's own cursor continues the chain on the standby: nothing changed since.
            const next = yield* increment(s, fromS.manifest.cursor, dir, "inc-next")
            expect([next.lines.length, next.manifest.removed]).toEqual([0, []])
          }),
        120_000
      )

      it.scoped(
        "a plan on the standby (hot_standby_feedback on): shards written after the standby replayed later writes and a VACUUM are the plan's export",
        () =>
          Effect.gen(function* () {
            const { cluster, p, s, pSql, sSql, dir } = yield* Cluster
            // What a standby that holds snapshots needs: the primary keeps what they see (no recovery
            // conflict ends the plan's session; see the last case for one that does).
            yield* configure(pSql, sSql, { feedback: true, delayMs: 30_000 })
            yield* Effect.orDie(cluster.caughtUp(s, p))
            const root = fs.mkdtempSync(path.join(dir, "plan-"))
            const before = yield* full(s)
            const plan = path.join(root, "plan.json")
            const planner = yield* plannedOn(s, ["--shards", "3", "--out", plan])
            // With hot_standby_feedback on, nothing to warn of.
            expect(planner.stderr()).not.toContain("warning")
            const written = readJson<PlanFile>(plan)
            expect(written.jobs).toBe(lines(before).length)
            expect(written.shards.map((x) => x.jobs).reduce((a, b) => a + b, 0)).toBe(written.jobs)
            yield* feedbackHolds(pSql, written)
            // The primary moves on and vacuums; the standby replays it (past the plan's snapshot) before
            // any shard is written.
            yield* writes(p, pSql, 2, { reviewed: 30, unapproved: 5, added: 20 })
            yield* Effect.orDie(pSql`VACUUM jobs, job_corrections`)
            yield* Effect.orDie(cluster.caughtUp(s, p))
            const after = yield* full(s)
            expect(after.equals(before)).toBe(false)
            expect(after.equals(yield* full(p))).toBe(true)
            const files = yield* planShards(s, plan, 3, root)
            for (const file of files) expect(lines(file).length).toBeGreaterThan(0)
            expect(Buffer.concat(files).toString("utf8")).toBe(before.toString("utf8"))
            // The plan's cursor is an increment's on the standby: the plan's export, with it, is now's.
            const inc = yield* increment(s, written.cursor, root, "inc")
            expect(applied(Buffer.concat(files), inc.lines, inc.manifest.removed).toString("utf8")).toBe(
              after.toString("utf8")
            )
            yield* stopPlan(planner)
          }),
        180_000
      )

      it.scoped(
        "replay paused behind the cursor: the increment is refused (one line, no file), then given; a plan made meanwhile is the paused snapshot",
        () =>
          Effect.gen(function* () {
            const { cluster, p, s, pSql, sSql, dir } = yield* Cluster
            yield* configure(pSql, sSql, { feedback: true, delayMs: 30_000 })
            yield* Effect.orDie(cluster.caughtUp(s, p))
            const root = fs.mkdtempSync(path.join(dir, "paused-"))
            yield* Effect.acquireRelease(Effect.orDie(sSql`SELECT pg_wal_replay_pause()`), () =>
              Effect.ignore(sSql`SELECT pg_wal_replay_resume()`)
            )
            // Writes the paused standby never sees, then a cursor on the primary that sees them.
            yield* writes(p, pSql, 3, { reviewed: 25, unapproved: 4, added: 15 })
            const base = path.join(root, "base.jsonl")
            const baseManifest = path.join(root, "base.manifest.json")
            yield* ok(p, ["export", "--out", base, "--manifest", baseManifest])
            const cursor = readJson<Manifest>(baseManifest).cursor
            // More writes after the cursor.
            const gone = yield* writes(p, pSql, 4, { reviewed: 20, unapproved: 3, added: 10 })

            // What the paused standby holds: the export before both rounds of writes.
            const paused = yield* full(s)
            expect(paused.equals(fs.readFileSync(base))).toBe(false)
            const plan = path.join(root, "plan.json")
            const planner = yield* plannedOn(s, ["--shards", "3", "--out", plan])
            const written = readJson<PlanFile>(plan)
            expect(written.jobs).toBe(lines(paused).length)
            yield* feedbackHolds(pSql, written)

            const refusedDir = path.join(root, "refused")
            fs.mkdirSync(refusedDir)
            const refused = yield* gt(s, [
              "export",
              "--changed-since",
              cursor,
              "--out",
              path.join(refusedDir, "inc.jsonl"),
              "--manifest",
              path.join(refusedDir, "inc.manifest.json")
            ])
            expect(refused.code, refused.stderr).toBe(1)
            expect(refused.stderr).toMatch(
              /^ground-truth: the standby has not yet replayed the snapshot of the cursor gt2\.\S+: .*retry later, or ask the primary\n$/
            )
            expect(refused.stderr).toContain(cursor)
            oneLine(refused.stderr)
            expect(refused.stdout.length).toBe(0)
            expect(fs.readdirSync(refusedDir)).toEqual([])

            // Replay resumes (after a VACUUM on the primary): the same increment is given, and the chain
            // law holds from the cursor.
            yield* Effect.orDie(pSql`VACUUM jobs, job_corrections`)
            yield* Effect.orDie(sSql`SELECT pg_wal_replay_resume()`)
            yield* Effect.orDie(cluster.caughtUp(s, p))
            const now = yield* full(p)
            expect((yield* full(s)).equals(now)).toBe(true)
            const given = yield* increment(s, cursor, root, "inc")
            expect(given.manifest.removed).toEqual(expect.arrayContaining(gone))
            expect(applied(fs.readFileSync(base), given.lines, given.manifest.removed).toString("utf8")).toBe(
              now.toString("utf8")
            )
            // The plan made while paused still writes the paused snapshot, after the standby replayed.
            const files = yield* planShards(s, plan, 3, root)
            expect(Buffer.concat(files).toString("utf8")).toBe(paused.toString("utf8"))
            yield* stopPlan(planner)
          }),
        180_000
      )

      it.scoped(
        "a plan on a standby without hot_standby_feedback, ended by a recovery conflict: its shards are one line, exit 1, no file",
        () =>
          Effect.gen(function* () {
            const { cluster, p, s, pSql, sSql, dir } = yield* Cluster
            // No feedback, and conflicts resolved at once (the default waits 30 s, then does the same);
            // the default delay again after.
            yield* Effect.addFinalizer(() =>
              Effect.ignore(
                Effect.zipRight(
                  sSql`ALTER SYSTEM RESET max_standby_streaming_delay`,
                  sSql`SELECT pg_reload_conf()`
                )
              )
            )
            yield* configure(pSql, sSql, { feedback: false, delayMs: 0 })
            yield* Effect.orDie(cluster.caughtUp(s, p))
            const root = fs.mkdtempSync(path.join(dir, "conflict-"))
            const before = yield* full(s)
            const plan = path.join(root, "plan.json")
            const planner = yield* plannedOn(s, ["--shards", "3", "--out", plan])
            // The planner says at once that replay may end it, and how to keep it.
            expect(planner.stderr()).toContain(
              "ground-truth: warning: the plan is held on a standby with hot_standby_feedback off"
            )
            expect(planner.stderr()).toContain("set hot_standby_feedback = on")
            const written = readJson<PlanFile>(plan)
            expect(written.jobs).toBe(lines(before).length)
            // The primary removes row versions the plan's snapshot sees; replaying that ends its session
            // (the only one on the standby with a snapshot). Vacuumed again should a snapshot on the
            // primary (an autovacuum's analyze, say) have kept them the first time.
            yield* writes(p, pSql, 5, { reviewed: 30, unapproved: 3, added: 10 })
            let holding = -1
            for (let i = 0; i < 20 && holding !== 0; i++) {
              yield* Effect.orDie(pSql`VACUUM jobs, job_corrections`)
              yield* Effect.orDie(cluster.caughtUp(s, p))
              const [row] = yield* Effect.orDie(
                sSql<{ readonly n: number }>`
                  SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid()`
              )
              holding = row.n
              if (holding !== 0) yield* realSleep(500)
            }
            expect(holding, "sessions holding a snapshot on the standby").toBe(0)
            expect((yield* full(s)).equals(before)).toBe(false)
            const shardsDir = path.join(root, "shards")
            fs.mkdirSync(shardsDir)
            for (let i = 0; i < 3; i++) {
              const out = path.join(shardsDir, `shard-${i}.jsonl`)
              const r = yield* gt(s, ["export", "--plan", plan, "--shard", String(i), "--out", out])
              expect(r.code, r.stderr).toBe(1)
              oneLine(r.stderr)
              expect(r.stderr).toMatch(
                new RegExp(`^ground-truth: plan ${written.id} is no longer held .*make a new plan\\n$`)
              )
              expect(r.stdout.length).toBe(0)
            }
            expect(fs.readdirSync(shardsDir)).toEqual([])
            // The plan process finds its session gone (its watch runs every 10 s) and says so: exit 1.
            const ended = yield* Effect.promise(() => planner.done).pipe(
              Effect.timeout("60 seconds"),
              Effect.orDie
            )
            expect(ended.code, ended.stderr).toBe(1)
            expect(ended.stderr).toContain(`plan ${written.id}: its database session ended`)
            expect(ended.stderr).toContain("make a new plan")
          }),
        180_000
      )
    }
  )
} else {
  describe.skip("exports, increments and plans on a hot standby (no PostgreSQL server binaries)", () => {
    it("needs initdb, pg_ctl and pg_basebackup", () => {})
  })
}
