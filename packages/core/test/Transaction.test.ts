/**
 * Which failures of `SET TRANSACTION SNAPSHOT` mean the snapshot is no longer held (a plan's shard or a
 * worker then answers 410 `snapshot_gone`/`plan_gone`, not a 500), as PostgreSQL 15 words them. The
 * 55000 case is a race: the snapshot's file was read while its exporting transaction ran, which ended
 * before the snapshot was installed; racing a COMMIT against the import 3,000 times here gave it 8 times
 * (and 22023 twice).
 */
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { isSnapshotGone } from "../src/internal/transaction.js"

const failure = (code: string, message: string) =>
  new SqlError({ cause: Object.assign(new Error(message), { code }) })

describe("importing a snapshot", () => {
  it("is gone when PostgreSQL says no such snapshot, or that its source ended while it was imported", () => {
    expect(isSnapshotGone(failure("22023", 'invalid snapshot identifier: "00000002-00000FAB-1"'))).toBe(true)
    expect(isSnapshotGone(failure("42704", 'snapshot "00000002-00000FAB-1" does not exist'))).toBe(true)
    expect(isSnapshotGone(failure("55000", "could not import the requested snapshot"))).toBe(true)
  })

  it("is a database failure otherwise, 55000 included when it says something else", () => {
    expect(isSnapshotGone(failure("55000", "SET TRANSACTION SNAPSHOT must be called before any query"))).toBe(
      false
    )
    expect(isSnapshotGone(failure("57P01", "terminating connection due to administrator command"))).toBe(
      false
    )
    expect(isSnapshotGone(new Error("could not import the requested snapshot"))).toBe(false)
  })
})
