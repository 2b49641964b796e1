/**
 * An export worker's entry point: a thread that `ExportWorkers` starts, with the database's URL in its
 * `workerData`, and keeps for export after export. For each, it connects (one connection) and imports
 * the snapshot it is given (`Workers.Open`), reads and writes the ranges it is asked (`Workers.Range`),
 * then ends that snapshot and closes that connection (`Workers.Close`, or the thread's end), as
 * `Workers` in core says.
 *
 * @since 0.1.0
 */

import { workerData } from "node:worker_threads"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import { SqlClient } from "@effect/sql"
import { Workers } from "@ground-truth/core"
import { type Context, Effect, Exit, Layer, Option, Redacted, Ref, Scope } from "effect"
import * as Database from "./Database.js"

const { url } = workerData as { readonly url: string }

/**
 * An export's snapshot on a connection of its own: a pool of one made for it, so that closing the
 * snapshot closes the connection too (an idle thread holds none: the server counts every connection).
 */
const snapshotOf = (snapshot: string) =>
  Layer.scoped(
    SqlClient.TransactionConnection,
    Effect.map(Workers.imported(snapshot), (conn) => [conn, 0] as const)
  ).pipe(Layer.provideMerge(Database.postgres(Redacted.make(url), 1)))

/** The snapshot this worker holds: what its ranges read, and the scope whose end ends it. */
interface Held {
  readonly scope: Scope.CloseableScope
  readonly context: Context.Context<SqlClient.SqlClient>
}

const runner = Layer.unwrapScoped(
  Effect.gen(function* () {
    const held = yield* Ref.make(Option.none<Held>())
    // `Open` and `Close` one at a time: requests are handled concurrently, and an export stopped while
    // its snapshot was opening sends its `Close` at once.
    const lock = yield* Effect.makeSemaphore(1)
    const close = Effect.flatMap(
      Ref.getAndSet(held, Option.none()),
      Option.match({ onNone: () => Effect.void, onSome: ({ scope }) => Scope.close(scope, Exit.void) })
    )
    // A thread stopped while it holds a snapshot ends it.
    yield* Effect.addFinalizer(() => close)
    return WorkerRunner.layerSerialized(Workers.Request, {
      Open: ({ snapshot }) =>
        lock.withPermits(1)(
          Effect.uninterruptibleMask((restore) =>
            Effect.gen(function* () {
              // An export that stopped before its `Close` left its snapshot: it ends here.
              yield* close
              const scope = yield* Scope.make()
              const context = yield* restore(Layer.buildWithScope(snapshotOf(snapshot), scope)).pipe(
                Effect.mapError((e) => (e._tag === "SqlError" ? Workers.sqlFailed(e) : e)),
                Effect.onError(() => Scope.close(scope, Exit.void))
              )
              yield* Ref.set(held, Option.some({ scope, context }))
            })
          )
        ),
      Range: (range) =>
        Effect.flatMap(
          Ref.get(held),
          Option.match({
            onNone: () => Effect.dieMessage("a range was asked of a worker that holds no snapshot"),
            onSome: ({ context }) => Effect.provide(Workers.range(range), context)
          })
        ),
      Close: () => lock.withPermits(1)(close)
    })
  })
)

WorkerRunner.launch(runner.pipe(Layer.provide(NodeWorkerRunner.layer))).pipe(NodeRuntime.runMain)
