/**
 * The chain law of contract §11, with reviewers writing: start from a full export, apply each increment
 * (replace lines by job_id, drop `removed`), and the corpus is exactly a full export at the last
 * increment's snapshot, byte for byte.
 *
 * Each round, three writers work concurrently (approvals, approvals withdrawn, corrections of approved
 * jobs, corrections of jobs without any, so `has_corrections` flips, new jobs, corrections of a letter's
 * number, which move a job between splits; some under a savepoint),
 * then one more transaction writes under a savepoint and is held open across the cut. "Quiet" rounds
 * stop the writers before the cut and compare the chain with a full export that sees the same
 * committed state; "busy" rounds keep them writing while the increments are taken, and the next quiet
 * round checks what they left.
 *
 * The same rounds drive four naive schemes, which must fail where they can: the largest transaction id
 * seen, `pg_visible_in_snapshot` against the previous snapshot, `updated_at`/`corrected_at` after the
 * previous cut, and the sample-time window of contract §7. On the embedded database one transaction runs
 * at a time (an export waits for the held one to end), so nothing is in flight at a cut there and only
 * the window scheme can fail; on PostgreSQL all four must.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { expect, layer } from "@effect/vitest"
import { Cursor, Export, Filter, Snapshot } from "@ground-truth/core"
import { Deferred, Effect, Fiber, Layer, Option, Redacted, Stream } from "effect"
import { Database, Demo, TestDatabase } from "../src/index.js"

const JOBS = 300
const HELD = 40
const ROUNDS = 6
const WRITERS = 3
const OPS = 12

/** `2025-05-28T08:02:17Z` → a key that sorts as the instant does (fractions padded to 6 digits). */
const timeKey = (t: string): string => {
  const m = /^(.{19})(?:\.(\d{1,6}))?Z$/.exec(t)
  if (m === null) throw new Error(`not an RFC 3339 UTC time: ${t}`)
  return `${m[1]}.${(m[2] ?? "").padEnd(6, "0")}`
}

const idOf = (line: string): string => JSON.parse(line).job_id

/** Full-export order: created_at, then id (lowercase UUIDs: string order is the database's). */
const byExportOrder = (a: string, b: string): number => {
  const x = JSON.parse(a)
  const y = JSON.parse(b)
  const p = timeKey(x.created_at)
  const q = timeKey(y.created_at)
  return p < q ? -1 : p > q ? 1 : x.job_id < y.job_id ? -1 : x.job_id > y.job_id ? 1 : 0
}

/** Applies one increment to a corpus: the test's own reading of the chain law, not the product's. */
const apply = (
  corpus: ReadonlyArray<string>,
  lines: ReadonlyArray<string>,
  removed: ReadonlyArray<string>
): Array<string> => {
  const replaced = new Set([...lines.map(idOf), ...removed])
  return [...corpus.filter((l) => !replaced.has(idOf(l))), ...lines].sort(byExportOrder)
}

const linesOf = (body: string): Array<string> => (body === "" ? [] : body.slice(0, -1).split("\n"))

const chains = [
  { name: "approved (default)", params: [] },
  {
    name: "all jobs without corrections",
    params: [
      ["approved_only", "false"],
      ["has_corrections", "false"]
    ]
  },
  {
    name: "hf, train split",
    params: [
      ["approved_only", "false"],
      ["format", "hf"],
      ["split", "train"]
    ]
  },
  // The other splits by letter too, so that a job whose number was corrected leaves one chain for another.
  ...(["validation", "test"] as const).map((split) => ({
    name: `${split} split`,
    params: [
      ["approved_only", "false"],
      ["split", split]
    ] as const
  }))
] as const

/** A job's 64-bit transaction id from its 32-bit `xmin`, relative to the snapshot's `xmax`. */
const full = (alias: string) =>
  `(s.x - ((s.x % 4294967296 - ${alias}.xmin::text::bigint + 4294967296) % 4294967296))`

interface NaiveCut {
  readonly xmax: string
  readonly snapshot: string
  readonly time: string
}

/** What each naive scheme calls changed since `prev`, and the state to continue from. */
const naiveQuery = (prev: NaiveCut | undefined) =>
  Snapshot.effect(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [cut] = yield* sql<NaiveCut>`
        SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax, pg_current_snapshot()::text AS snapshot,
               now()::text AS time`
      if (prev === undefined) return { cut, sets: undefined }
      const ids = (rule: string, eventRule: string) =>
        sql<{ id: string }>`
          WITH s AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS x)
          SELECT j.id::text AS id FROM jobs j, s WHERE ${sql.literal(rule)}
          UNION SELECT c.job_id::text FROM job_corrections c, s WHERE ${sql.literal(eventRule)}`.pipe(
          Effect.map((rows) => new Set(rows.map((r) => r.id)))
        )
      const visible = (alias: string) =>
        `NOT pg_visible_in_snapshot(${full(alias)}::text::xid8, '${prev.snapshot}'::pg_snapshot)`
      return {
        cut,
        sets: {
          maxXid: yield* ids(`${full("j")} >= ${prev.xmax}`, `${full("c")} >= ${prev.xmax}`),
          visible: yield* ids(visible("j"), visible("c")),
          updatedAt: yield* ids(
            `j.updated_at >= '${prev.time}'::timestamptz`,
            `c.corrected_at >= '${prev.time}'::timestamptz`
          ),
          window: yield* ids(`coalesce(j.reviewed_at, j.created_at) >= '${prev.time}'::timestamptz`, "false")
        }
      }
    })
  )

type Scheme = "maxXid" | "visible" | "updatedAt" | "window"
const schemes: ReadonlyArray<Scheme> = ["maxXid", "visible", "updatedAt", "window"]

/** A job for the writers to touch, outside the held transaction's jobs. */
const pick = (where: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ id: string }>`
      SELECT id::text AS id FROM jobs WHERE id NOT IN (SELECT id FROM held) AND ${sql.literal(where)}
      ORDER BY random() LIMIT 1 FOR UPDATE`.pipe(Effect.map((rows) => Option.fromNullable(rows[0]?.id)))
  )

/**
 * A reviewer's correction of a header field (`perihal` unless said), result and event together (an
 * approved job's too), its time read at the insert, after the row lock, as the review path does: two
 * corrections of one job then keep their order.
 */
const correct = (id: string, value: string, field: "perihal" | "nomor_sprint" = "perihal") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function* () {
      const path = `{header,${field}}`
      const [row] = yield* sql<{ old: string | null }>`
        SELECT (result #> ${path}::text[])::text AS old FROM jobs WHERE id = ${id}::uuid`
      yield* sql`
        UPDATE jobs SET result = jsonb_set(result, ${path}::text[], to_jsonb(${value}::text)), updated_at = now()
        WHERE id = ${id}::uuid`
      yield* sql`
        INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, corrected_at)
        VALUES (${id}::uuid, ${`header.${field}`}, ${row.old}::jsonb, to_jsonb(${value}::text), 'reviewer-chain', clock_timestamp())`
    })
  )

const newJob = (id: string, approved: boolean) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
      INSERT INTO jobs (id, filename, source_kind, status, result, approved, reviewed_by, reviewed_at, created_at)
      VALUES (${id}::uuid, 'baru.pdf', 'pdf', 'done', '{"header": {"perihal": "baru"}, "personel": []}',
              ${approved}, ${approved ? "reviewer-chain" : null}, ${approved ? new Date().toISOString() : null}::timestamptz,
              now())`
  )

let counter = 0
const uuid = (round: number) => {
  counter++
  return `00000000-0000-4000-8000-${String(round * 100000 + counter).padStart(12, "0")}`
}

/** One writer's op, in its own transaction, now and then under a savepoint; returns the job it touched. */
const op = (round: number, n: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const kind = n % 6
    const body: Effect.Effect<Option.Option<string>, unknown, SqlClient.SqlClient> = kind === 0
      ? Effect.flatMap(pick("NOT approved AND result IS NOT NULL"), (id) =>
          Option.match(id, {
            onNone: () => Effect.succeed(id),
            onSome: (x) =>
              Effect.as(
                sql`UPDATE jobs SET approved = true, reviewed_by = 'reviewer-chain', reviewed_at = now(),
                             updated_at = now() WHERE id = ${x}::uuid`,
                id
              )
          })
        )
      : kind === 1
        ? Effect.flatMap(pick("approved"), (id) =>
            Option.match(id, {
              onNone: () => Effect.succeed(id),
              onSome: (x) =>
                Effect.as(sql`UPDATE jobs SET approved = false, updated_at = now() WHERE id = ${x}::uuid`, id)
            })
          )
        : kind === 4
          ? Effect.suspend(() => {
              const id = uuid(round)
              return Effect.as(newJob(id, n % 2 === 0), Option.some(id))
            })
          : kind === 5
            ? // A letter's number corrected: the job's letter key changes, and with it, often, its split.
              Effect.flatMap(pick("jsonb_typeof(result -> 'header') = 'object'"), (id) =>
                Option.match(id, {
                  onNone: () => Effect.succeed(id),
                  onSome: (x) => Effect.as(correct(x, `Sprin/${round}${n}/XII/2025`, "nomor_sprint"), id)
                })
              )
            : // Corrections: of approved jobs (kind 2) and of jobs without any event yet (kind 3).
              Effect.flatMap(
                pick(
                  `jsonb_typeof(result -> 'header') = 'object' AND ${
                    kind === 2
                      ? "approved"
                      : "NOT EXISTS (SELECT 1 FROM job_corrections c WHERE c.job_id = jobs.id)"
                  }`
                ),
                (id) =>
                  Option.match(id, {
                    onNone: () => Effect.succeed(id),
                    onSome: (x) => Effect.as(correct(x, `koreksi ${round}.${n}`), id)
                  })
              )
    // Every third op under a savepoint: its rows carry a subtransaction's id.
    return sql.withTransaction(n % 3 === 0 ? sql.withTransaction(body) : body)
  })

for (const target of TestDatabase.targets()) {
  layer(Layer.merge(target.layer, Export.Export.Default.pipe(Layer.provide(target.layer))), {
    timeout: 600_000,
    excludeTestServices: true
  })(`chain law on ${target.name}`, (it) => {
    it.effect(
      "a full export and its increments, applied in order, equal a full export at the last snapshot",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const exporter = yield* Export.Export
          yield* Demo.seed({ jobs: JOBS, seed: 14 })
          // The held transaction's jobs, kept apart from the writers' (a view: no table is added to the schema's).
          yield* sql.unsafe(
            `CREATE VIEW held AS SELECT id FROM jobs WHERE id IN
               (SELECT id FROM jobs ORDER BY created_at, id LIMIT ${HELD})`
          )
          const filters = yield* Effect.forEach(chains, (c) => Filter.parse(c.params))

          const run = (filter: Filter.Filter) =>
            Effect.gen(function* () {
              const { stream, manifest } = yield* exporter.withManifest(filter)
              const body = yield* Stream.runFold(stream, "", (s, b) => s + Buffer.from(b).toString("utf8"))
              return { body, manifest: yield* manifest }
            })

          // Round 0: the full exports the chains start from.
          const first = yield* Effect.forEach(filters, run)
          const corpora = first.map((f) => linesOf(f.body))
          const cursors = first.map((f) => f.manifest.cursor)
          // Each job's split at the start, by the split chains (train, validation, test).
          const splitChains = [2, 3, 4]
          const splitAt = () =>
            new Map(splitChains.flatMap((chain) => corpora[chain].map((l) => [idOf(l), chain] as const)))
          const startSplits = splitAt()
          let naive = yield* naiveQuery(undefined)
          const naiveCorpora = new Map(schemes.map((s) => [s, [...corpora[0]]]))
          const failed = new Map<Scheme, number>()
          const touched: Array<Set<string>> = []
          let heldTaken = 0

          for (let round = 1; round <= ROUNDS; round++) {
            const quiet = round % 2 === 0 || round === ROUNDS
            const mine = new Set<string>()
            touched.push(mine)
            const write = (w: number) =>
              Effect.forEach(
                Array.from({ length: OPS }, (_, i) => w * OPS + i),
                (n) => Effect.map(op(round, n), (id) => Option.map(id, (x) => mine.add(x))),
                { discard: true }
              )
            yield* Effect.all(
              Array.from({ length: WRITERS }, (_, w) => write(w)),
              { concurrency: "unbounded", discard: true }
            )

            // Held open across the cut: approve one held job, withdraw another, correct a third (which
            // had no events), add a new approved job: all under a savepoint.
            const [a, b, c] = (yield* sql<{ id: string; approved: boolean }>`
              SELECT h.id::text AS id, j.approved FROM held h JOIN jobs j USING (id)
              WHERE jsonb_typeof(j.result -> 'header') = 'object'
                AND NOT EXISTS (SELECT 1 FROM job_corrections c WHERE c.job_id = h.id)
              ORDER BY h.id OFFSET ${heldTaken} LIMIT 3`).map((r) => r.id)
            heldTaken += 3
            const fresh = uuid(round)
            for (const id of [a, b, c, fresh]) mine.add(id)
            const written = yield* Deferred.make<void>()
            const release = yield* Deferred.make<void>()
            const held = yield* Effect.fork(
              sql.withTransaction(
                Effect.zipRight(
                  sql.withTransaction(
                    Effect.all([
                      sql`UPDATE jobs SET approved = true, reviewed_by = 'reviewer-held', reviewed_at = now(),
                                 updated_at = now() WHERE id = ${a}::uuid`,
                      sql`UPDATE jobs SET approved = false, updated_at = now() WHERE id = ${b}::uuid`,
                      correct(c, `koreksi tertahan ${round}`),
                      newJob(fresh, true)
                    ])
                  ),
                  Effect.zipRight(Deferred.succeed(written, undefined), Deferred.await(release))
                )
              )
            )
            yield* Deferred.await(written)
            // Later transactions commit while it is open, so the cut's xmax passes it: what makes a cut with
            // a transaction in flight (the embedded database would wait for the held one instead).
            if (target.name === "postgres") {
              for (let n = 0; n < 3; n++) {
                const id = yield* op(round, 2000 + n * 5)
                Option.map(id, (x) => mine.add(x))
              }
            }

            // Busy rounds: writers keep going while the increments are taken.
            const busy = quiet
              ? undefined
              : yield* Effect.fork(
                  // Each op is noted before it can be interrupted: a committed write is always in `mine`.
                  Effect.forever(
                    Effect.uninterruptible(
                      Effect.flatMap(op(round, 1000 + counter), (id) =>
                        Effect.sync(() => Option.map(id, (x) => mine.add(x)))
                      )
                    )
                  )
                )
            const cut = Effect.all(
              [
                Effect.forEach(filters, (f, i) => run({ ...f, changedSince: Cursor.decode(cursors[i]) })),
                quiet ? Effect.forEach(filters, run) : Effect.succeed(undefined),
                quiet ? naiveQuery(naive.cut) : Effect.succeed(undefined)
              ] as const,
              { concurrency: 1 }
            )
            // PostgreSQL takes every snapshot while the held transaction is open; the embedded database
            // runs one transaction at a time, so its exports wait for it to end.
            let results: Effect.Effect.Success<typeof cut>
            if (target.name === "postgres") {
              results = yield* cut
              yield* Deferred.succeed(release, undefined)
              yield* Fiber.join(held)
            } else {
              const exports = yield* Effect.fork(cut)
              yield* Effect.promise(() => new Promise((r) => setTimeout(r, 300)))
              yield* Deferred.succeed(release, undefined)
              yield* Fiber.join(held)
              results = yield* Fiber.join(exports)
            }
            if (busy !== undefined) yield* Fiber.interrupt(busy)
            const [increments, fulls, naiveNow] = results

            increments.forEach((inc, i) => {
              const lines = linesOf(inc.body)
              expect(inc.manifest.changed_since).toBe(cursors[i])
              expect(inc.manifest.cursor).not.toBe(cursors[i])
              // An increment names only jobs written in the rounds: it is no full export in disguise. A job of
              // this round or the one before, mostly (a transaction that committed just before the previous
              // cut may come again); of an older round when another session's transaction (the other test
              // packages share this server) held the previous cut's xmin back, which contract §11 allows.
              const recent = new Set([...touched.flatMap((t) => [...t]), ...mine])
              for (const id of [...lines.map(idOf), ...inc.manifest.removed])
                expect(recent.has(id), id).toBe(true)
              expect([...inc.manifest.removed]).toEqual([...inc.manifest.removed].sort())
              corpora[i] = apply(corpora[i], lines, inc.manifest.removed)
              cursors[i] = inc.manifest.cursor
            })
            if (fulls !== undefined && naiveNow !== undefined) {
              // Each increment counts, in its own snapshot, the lines of the full export it continues to.
              increments.forEach((inc, i) => {
                expect(inc.manifest.corpus_rows, chains[i].name).toBe(linesOf(fulls[i].body).length)
              })
              fulls.forEach((f, i) => {
                expect(
                  `${corpora[i].join("\n")}${corpora[i].length > 0 ? "\n" : ""}`,
                  `${chains[i].name}, round ${round}`
                ).toBe(f.body)
              })
              if (target.name === "postgres") {
                // The held transaction was in flight at the cut: its new job is not in the snapshot.
                expect(linesOf(fulls[0].body).some((l) => idOf(l) === fresh)).toBe(false)
              }
              const sets = naiveNow.sets!
              const fullLines = linesOf(fulls[0].body)
              for (const scheme of schemes) {
                const set = sets[scheme]
                const lines = fullLines.filter((l) => set.has(idOf(l)))
                const present = new Set(lines.map(idOf))
                const removed = scheme === "window" ? [] : [...set].filter((id) => !present.has(id))
                const next = apply(naiveCorpora.get(scheme)!, lines, removed)
                naiveCorpora.set(scheme, next)
                if (next.join("\n") !== fullLines.join("\n") && !failed.has(scheme)) failed.set(scheme, round)
              }
              naive = naiveNow
            }
          }
          // Corrected numbers moved jobs between splits, and each split's chain followed them.
          const moved = [...splitAt()].filter(([id, chain]) => (startSplits.get(id) ?? chain) !== chain)
          expect(moved.length).toBeGreaterThan(0)
          console.log(
            `${target.name}: ${ROUNDS} rounds, ${touched.reduce((n, s) => n + s.size, 0)} jobs written, ` +
              `${moved.length} moved between splits by a corrected number; naive schemes ` +
              `that broke the chain: ${schemes.map((s) => `${s} ${failed.has(s) ? `(round ${failed.get(s)})` : "no"}`).join(", ")}`
          )
          expect(failed.has("window")).toBe(true)
          if (target.name === "postgres") for (const s of schemes) expect(failed.has(s), s).toBe(true)
        }),
      600_000
    )

    it.effect(
      "an increment counts the full export's lines of every split in SQL as the export splits them",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const exporter = yield* Export.Export
          yield* Demo.seed({ jobs: 120, seed: 17, from: 300_000 })
          const run = (filter: Filter.Filter) =>
            Effect.gen(function* () {
              const { stream, manifest } = yield* exporter.withManifest(filter)
              const body = yield* Stream.runFold(stream, "", (s, b) => s + Buffer.from(b).toString("utf8"))
              return { lines: linesOf(body).length, manifest: yield* manifest }
            })
          const cursor = (yield* run(yield* Filter.parse([]))).manifest.cursor
          yield* sql`UPDATE jobs SET status = status WHERE id = (SELECT id FROM jobs ORDER BY id LIMIT 1)`
          const counts: Array<number> = []
          for (const extra of [
            [],
            [
              ["split_ratios", "50,25,25"],
              ["split_seed", "sprin"]
            ],
            [["split_by", "job"]]
          ] as const) {
            for (const split of ["train", "validation", "test"]) {
              const params = [["approved_only", "false"], ["split", split], ...extra] as const
              const full = yield* run(yield* Filter.parse(params))
              const increment = yield* run(yield* Filter.parse([...params, ["changed_since", cursor]]))
              expect(increment.manifest.corpus_rows, `${split} ${extra.length}`).toBe(full.lines)
              expect(full.manifest.corpus_rows).toBe(full.lines)
              counts.push(full.lines)
            }
          }
          // The splits partition the jobs, and none is empty: every branch of the arithmetic was taken.
          expect(counts.every((n) => n > 0)).toBe(true)
          expect(counts[0] + counts[1] + counts[2]).toBe(counts[3] + counts[4] + counts[5])
          expect(counts[0] + counts[1] + counts[2]).toBe(counts[6] + counts[7] + counts[8])
          // The training formats leave jobs out: no count.
          const pc = yield* run(
            yield* Filter.parse([
              ["format", "messages"],
              ["changed_since", cursor]
            ])
          )
          expect(pc.manifest.corpus_rows).toBeNull()
        }),
      120_000
    )

    it.effect(
      "a deleted job or event makes a cursor stale at once (deleted), a rolled-back delete does not",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const exporter = yield* Export.Export
          yield* Demo.seed({ jobs: 20, seed: 16, from: 200_000 })
          const all = yield* Filter.parse([["approved_only", "false"]])
          const cursorOf = (filter: Filter.Filter) =>
            Effect.gen(function* () {
              const { stream, manifest } = yield* exporter.withManifest(filter)
              yield* Stream.runDrain(stream)
              return (yield* manifest).cursor
            })
          const refusedAfter = (before: string) =>
            Effect.flip(cursorOf({ ...all, changedSince: Cursor.decode(before) }))
          const staleAfter = (before: string) =>
            Effect.map(refusedAfter(before), (refused) => {
              expect(refused._tag).toBe("StaleCursor")
              expect(refused._tag === "StaleCursor" && refused.reason).toBe("deleted")
              expect(refused.message).toContain("take a full export")
            })
          // A delete rolled back changes nothing: the cursor still answers (statistics counted it).
          const first = yield* cursorOf(all)
          yield* Effect.flip(
            sql.withTransaction(
              Effect.zipRight(sql`DELETE FROM job_corrections`, Effect.fail("roll back" as const))
            )
          )
          yield* cursorOf({ ...all, changedSince: Cursor.decode(first) })
          // Old events deleted (all of one job's: its line would keep them), with as many written since.
          const [job] = yield* sql<{ job_id: string }>`
            SELECT job_id::text AS job_id FROM job_corrections ORDER BY id DESC LIMIT 1`
          const beforeEvents = yield* cursorOf(all)
          yield* sql`DELETE FROM job_corrections WHERE job_id = ${job.job_id}::uuid`
          yield* Demo.seed({ jobs: 2, seed: 17, from: 600_000 })
          yield* staleAfter(beforeEvents)
          // An old event rewritten in place is no append (moved to another job, it would leave a stale
          // line behind): stale too.
          const beforeRewrite = yield* cursorOf(all)
          yield* sql`UPDATE job_corrections SET reason = 'rewritten' WHERE id = (SELECT min(id) FROM job_corrections)`
          yield* staleAfter(beforeRewrite)
          // A job deleted (its events with it).
          const beforeJob = yield* cursorOf(all)
          yield* sql`DELETE FROM jobs WHERE id = (SELECT id FROM jobs ORDER BY created_at DESC, id LIMIT 1)`
          yield* staleAfter(beforeJob)
          // A full export's cursor answers again.
          const after = yield* cursorOf(all)
          yield* cursorOf({ ...all, changedSince: Cursor.decode(after) })
        }),
      120_000
    )

    if (target.name === "postgres") {
      it.scoped(
        "a read-only role with default_transaction_read_only exports and takes increments, writing nothing",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const db = yield* TestDatabase.TestDatabase
            yield* Demo.seed({ jobs: 50, seed: 15, from: 100_000 })
            const role = `gt_reader_${process.pid}_${Date.now().toString(36)}`
            yield* sql.unsafe(`CREATE ROLE ${role} LOGIN`)
            yield* Effect.addFinalizer(() =>
              Effect.ignore(sql.unsafe(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`))
            )
            yield* sql.unsafe(`GRANT SELECT ON jobs, job_corrections TO ${role}`)
            yield* sql.unsafe(`ALTER ROLE ${role} SET default_transaction_read_only = on`)
            const url = new URL(db.url)
            url.username = role
            const reader = Export.Export.Default.pipe(
              Layer.provide(PgClient.layer({ url: Redacted.make(url.toString()), maxConnections: 2 }))
            )
            const run = (filter: Filter.Filter) =>
              Effect.gen(function* () {
                const exporter = yield* Export.Export
                const { stream, manifest } = yield* exporter.withManifest(filter)
                const body = yield* Stream.runFold(stream, "", (s, b) => s + Buffer.from(b).toString("utf8"))
                return { body, manifest: yield* manifest }
              })
            const all = yield* Filter.parse([["approved_only", "false"]])
            const before = yield* Effect.provide(run(all), reader)
            // The reader really cannot write.
            const refused = yield* Effect.provide(
              Effect.flip(Effect.flatMap(SqlClient.SqlClient, (r) => r`UPDATE jobs SET status = status`)),
              PgClient.layer({ url: Redacted.make(url.toString()), maxConnections: 1 })
            )
            expect(refused._tag === "SqlError" && Database.describeSqlError(refused)).toMatch(
              /read-only transaction/
            )
            const [job] = yield* sql<{ id: string }>`SELECT id::text AS id FROM jobs ORDER BY id LIMIT 1`
            yield* sql`UPDATE jobs SET approved = NOT approved WHERE id = ${job.id}::uuid`
            const increment = yield* Effect.provide(
              run({ ...all, changedSince: Cursor.decode(before.manifest.cursor) }),
              reader
            )
            const after = yield* run(all)
            expect(linesOf(increment.body).map(idOf)).toEqual([job.id])
            expect(increment.body).toBe(`${linesOf(after.body).find((l) => idOf(l) === job.id)}\n`)
          }),
        120_000
      )
    }
  })
}
