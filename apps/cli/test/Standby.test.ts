/**
 * The chain law (contract §11) through failovers, crashes and streaming standbys, on clusters of the
 * test's own (`TestCluster`: `initdb`, `pg_basebackup`, `pg_ctl` on spare ports, as a non-root user):
 * `sync` never exits 0 with a corpus that differs from a full export. Each round here broke that before
 * cursors named their timeline as a standby replays it and counted deletions exactly (issue 28):
 *
 * - a failover seen from a replica that follows the promoted standby (its control file still names the
 *   old timeline until its next restartpoint);
 * - a deleted event, then a crash (which resets the statistics the old check read);
 * - a deletion seen through a standby (whose statistics never count it), and a rolled-back delete
 *   (which the statistics counted: a false stale cursor);
 * - a standby whose replay is paused behind the cursor, and one whose role cannot see its timeline;
 * - and on the embedded database kept on disk, a deletion by another process (whose statistics went
 *   with it).
 *
 * The clusters' rounds are skipped where the PostgreSQL server binaries are absent.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Embedded, TestCluster, TestDatabase } from "@ground-truth/db"
import { Effect } from "effect"
import { run } from "./cli.js"

const oneLine = (stderr: string) => {
  expect(stderr.endsWith("\n")).toBe(true)
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

const urlAs = (node: TestCluster.Node, user: string) => {
  const url = new URL(node.url)
  url.username = user
  return url.toString()
}

/** The CLI against `node` (as its superuser, or `user`). */
const gt = (node: TestCluster.Node, args: ReadonlyArray<string>, user?: string) =>
  run(args, { DATABASE_URL: user === undefined ? node.url : urlAs(node, user) })

const ok = (node: TestCluster.Node, args: ReadonlyArray<string>) =>
  Effect.tap(gt(node, args), (r) =>
    Effect.sync(() => expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0))
  )

/**
 * `transactions` review transactions on the primary behind `sql`, each re-reviewing `jobs` approved jobs
 * from `offset` on: every line changes, the corpus keeps its size (so only the cursor can tell).
 */
const reviews = (sql: SqlClient.SqlClient, transactions: number, jobs: number, offset: number) =>
  Effect.forEach(
    Array.from({ length: transactions }, (_, i) => offset + i * jobs),
    (from) =>
      sql.unsafe(
        `UPDATE jobs SET reviewed_by = 'standby-test-' || $1, reviewed_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM jobs WHERE approved ORDER BY id OFFSET $1 LIMIT $2)`,
        [from, jobs]
      ),
    { discard: true }
  ).pipe(Effect.orDie)

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "gt-standby-"))

/** A full export of `node` now, to compare a synced corpus with. */
const fresh = (node: TestCluster.Node, dir: string) =>
  Effect.gen(function* () {
    const out = path.join(dir, `fresh-${node.name}-${Date.now()}.jsonl`)
    yield* ok(node, ["export", "--out", out])
    return fs.readFileSync(out)
  })

const files = (...names: ReadonlyArray<string>) => names.map((name) => fs.readFileSync(name))

const available = TestCluster.binaries() !== undefined

describe.skipIf(!available)("the chain law through failovers, crashes and standbys", () => {
  it.scopedLive(
    "a failover seen from a replica: sync refuses the cursor of the lost timeline (and --full-if-stale starts again)",
    () =>
      Effect.gen(function* () {
        const cluster = yield* TestCluster.make
        const p = yield* cluster.primary("p")
        yield* ok(p, ["migrate"])
        yield* ok(p, ["seed-demo", "--jobs", "300", "--seed", "28"])
        const s1 = yield* cluster.standby("s1", p)
        const s2 = yield* cluster.standby("s2", p)
        yield* cluster.caughtUp(s2, p)
        const dir = tempDir()
        const corpus = path.join(dir, "corpus.jsonl")
        yield* ok(s2, ["sync", "--out", corpus])
        // Both standbys stop; the primary goes on alone, and a sync from it reaches those transactions.
        yield* cluster.stop(s1, "fast")
        yield* cluster.stop(s2, "fast")
        const pSql = yield* cluster.client(p)
        yield* reviews(pSql, 4, 12, 0)
        yield* ok(p, ["sync", "--out", corpus])
        // The primary crashes; s1 is promoted without them (timeline 2); s2 follows s1.
        yield* cluster.stop(p, "immediate")
        yield* cluster.start(s1)
        yield* cluster.promote(s1)
        yield* cluster.follow(s2, s1)
        yield* cluster.start(s2)
        const s1Sql = yield* cluster.client(s1)
        yield* reviews(s1Sql, 6, 10, 20)
        yield* cluster.caughtUp(s2, s1)
        const kept = files(corpus, path.join(dir, "corpus.manifest.json"))
        const refused = yield* gt(s2, ["sync", "--out", corpus])
        expect(refused.code, refused.stderr).toBe(2)
        expect(refused.stderr).toMatch(
          /^ground-truth: the cursor gt2\.\S+ cannot be answered: the database is on another timeline/
        )
        oneLine(refused.stderr)
        expect(files(corpus, path.join(dir, "corpus.manifest.json"))).toEqual(kept)
        // --full-if-stale starts the corpus again, from s2: what a full export holds.
        const again = yield* gt(s2, ["sync", "--out", corpus, "--full-if-stale"])
        expect(again.code, again.stderr).toBe(0)
        expect(again.stderr).toContain("taking a full export (--full-if-stale)")
        expect(fs.readFileSync(corpus).equals(yield* fresh(s2, dir))).toBe(true)
        // And the new chain goes on, through the replica.
        yield* reviews(s1Sql, 2, 7, 100)
        yield* cluster.caughtUp(s2, s1)
        yield* ok(s2, ["sync", "--out", corpus])
        expect(fs.readFileSync(corpus).equals(yield* fresh(s1, dir))).toBe(true)
      }),
    600_000
  )

  it.scopedLive(
    "deletions, seen on the primary, after a crash and through a standby, are refused; a standby behind waits",
    () =>
      Effect.gen(function* () {
        const cluster = yield* TestCluster.make
        const p = yield* cluster.primary("p")
        yield* ok(p, ["migrate"])
        yield* ok(p, ["seed-demo", "--jobs", "300", "--seed", "29"])
        const s = yield* cluster.standby("s", p)
        yield* cluster.caughtUp(s, p)
        const pSql = yield* cluster.client(p)
        const dir = tempDir()
        const onP = path.join(dir, "p.jsonl")
        const onS = path.join(dir, "s.jsonl")
        const manifestOf = (corpus: string) => corpus.replace(/\.jsonl$/, ".manifest.json")
        yield* ok(p, ["sync", "--out", onP])
        yield* ok(s, ["sync", "--out", onS])

        // A delete rolled back changes nothing: no stale cursor (statistics counted it).
        yield* Effect.flip(
          pSql.withTransaction(Effect.zipRight(pSql`DELETE FROM job_corrections`, Effect.fail("roll back")))
        )
        yield* cluster.caughtUp(s, p)
        yield* ok(p, ["sync", "--out", onP])
        yield* ok(s, ["sync", "--out", onS])

        // A standby whose replay is paused behind the cursor refuses (retry later), changing nothing,
        // and answers once it has caught up.
        const sSql = yield* cluster.client(s)
        yield* Effect.orDie(sSql`SELECT pg_wal_replay_pause()`)
        yield* reviews(pSql, 2, 9, 40)
        yield* ok(p, ["sync", "--out", onP])
        const behind = path.join(dir, "behind.jsonl")
        fs.copyFileSync(onP, behind)
        fs.copyFileSync(manifestOf(onP), manifestOf(behind))
        const waiting = yield* gt(s, ["sync", "--out", behind, "--full-if-stale"])
        expect(waiting.code, waiting.stderr).toBe(1)
        expect(waiting.stderr).toMatch(
          /^ground-truth: the standby has not yet replayed the snapshot of the cursor gt2\.\S+: .*retry later, or ask the primary\n$/
        )
        oneLine(waiting.stderr)
        expect(files(behind, manifestOf(behind))).toEqual(files(onP, manifestOf(onP)))
        yield* Effect.orDie(sSql`SELECT pg_wal_replay_resume()`)
        yield* cluster.caughtUp(s, p)
        yield* ok(s, ["sync", "--out", behind])
        expect(fs.readFileSync(behind).equals(yield* fresh(p, dir))).toBe(true)

        // Every event of an approved job deleted, committed by a session that stays open.
        const [job] = yield* Effect.orDie(
          pSql<{ readonly id: string }>`
            SELECT j.id::text AS id FROM jobs j WHERE j.approved
              AND EXISTS (SELECT 1 FROM job_corrections c WHERE c.job_id = j.id)
            ORDER BY j.id LIMIT 1`
        )
        yield* Effect.orDie(pSql`DELETE FROM job_corrections WHERE job_id = ${job.id}::uuid`)
        yield* cluster.caughtUp(s, p)
        const deleted =
          /^ground-truth: the cursor gt2\.\S+ cannot be answered: rows were deleted from jobs or job_corrections since/
        for (const [node, corpus] of [
          [p, onP],
          [s, onS]
        ] as const) {
          const kept = files(corpus, manifestOf(corpus))
          const r = yield* gt(node, ["sync", "--out", corpus])
          expect(r.code, `${node.name}: ${r.stderr}`).toBe(2)
          expect(r.stderr).toMatch(deleted)
          oneLine(r.stderr)
          expect(files(corpus, manifestOf(corpus))).toEqual(kept)
        }
        // A crash (statistics reset) does not make the deletion go unseen.
        yield* cluster.stop(p, "immediate")
        yield* cluster.start(p)
        for (let i = 0; i < 2; i++) {
          const r = yield* gt(p, ["sync", "--out", onP])
          expect(r.code, r.stderr).toBe(2)
          expect(r.stderr).toMatch(deleted)
        }
        yield* ok(p, ["sync", "--out", onP, "--full-if-stale"])
        expect(fs.readFileSync(onP).equals(yield* fresh(p, dir))).toBe(true)
        expect(fs.readFileSync(onP).toString("utf8")).toContain(`"job_id":"${job.id}"`)

        // A role that cannot see the standby's timeline (no pg_read_all_stats): a cursor it takes there
        // is never answered, and it cannot answer for others' cursors there.
        yield* Effect.orDie(
          pSql.unsafe("CREATE ROLE gt_reader LOGIN; GRANT SELECT ON jobs, job_corrections TO gt_reader")
        )
        yield* cluster.caughtUp(s, p)
        const blind = path.join(dir, "blind.jsonl")
        fs.copyFileSync(onP, blind)
        fs.copyFileSync(manifestOf(onP), manifestOf(blind))
        const notReady = yield* gt(s, ["sync", "--out", blind], "gt_reader")
        expect(notReady.code, notReady.stderr).toBe(1)
        expect(notReady.stderr).toMatch(
          /^ground-truth: the standby cannot tell which timeline it replays \(grant pg_read_all_stats/
        )
        oneLine(notReady.stderr)
        const own = path.join(dir, "own.jsonl")
        const first = yield* gt(s, ["sync", "--out", own], "gt_reader")
        expect(first.code, first.stderr).toBe(0)
        const unknown = yield* gt(s, ["sync", "--out", own], "gt_reader")
        expect(unknown.code, unknown.stderr).toBe(2)
        expect(unknown.stderr).toMatch(
          /cannot be answered: it was taken on a standby that could not tell which timeline/
        )
      }),
    600_000
  )
})

describe("the chain law on the embedded database kept on disk", () => {
  it.live(
    "rows deleted by another process are refused (its statistics went with it), and --full-if-stale starts again",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const dataDir = path.join(dir, "pglite")
        const env = { DATABASE_URL: undefined, GROUND_TRUTH_DATA_DIR: dataDir }
        const corpus = path.join(dir, "corpus.jsonl")
        const first = yield* run(["sync", "--out", corpus], env)
        expect(first.code, first.stderr).toBe(0)
        // Another process opens the database, deletes every event of an approved job, and closes it.
        const job = yield* Effect.scoped(
          Effect.gen(function* () {
            const db = yield* Embedded.start({ dataDir, maxConnections: 2 })
            const sql = yield* TestDatabase.client(`postgres://postgres@${db.host}:${db.port}/postgres`)
            const [row] = yield* sql<{ readonly id: string }>`
              SELECT j.id::text AS id FROM jobs j WHERE j.approved
                AND EXISTS (SELECT 1 FROM job_corrections c WHERE c.job_id = j.id)
              ORDER BY j.id LIMIT 1`
            yield* sql`DELETE FROM job_corrections WHERE job_id = ${row.id}::uuid`
            return row.id
          })
        ).pipe(Effect.orDie)
        const kept = files(corpus, path.join(dir, "corpus.manifest.json"))
        const refused = yield* run(["sync", "--out", corpus], env)
        expect(refused.code, refused.stderr).toBe(2)
        expect(refused.stderr).toMatch(
          /^ground-truth: the cursor gt2\.\S+ cannot be answered: rows were deleted from jobs or job_corrections since/
        )
        oneLine(refused.stderr)
        expect(files(corpus, path.join(dir, "corpus.manifest.json"))).toEqual(kept)
        const again = yield* run(["sync", "--out", corpus, "--full-if-stale"], env)
        expect(again.code, again.stderr).toBe(0)
        const fresh = path.join(dir, "fresh.jsonl")
        expect((yield* run(["export", "--out", fresh], env)).code).toBe(0)
        expect(fs.readFileSync(corpus).equals(fs.readFileSync(fresh))).toBe(true)
        expect(fs.readFileSync(corpus).toString("utf8")).toContain(`"job_id":"${job}"`)
      }),
    300_000
  )
})
