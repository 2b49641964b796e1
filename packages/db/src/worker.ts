/**
 * An export worker's entry point: a thread that `ExportWorkers` starts, with the database's URL in its
 * `workerData`. It connects (one connection), imports the snapshot it is given (`Workers.Open`), and
 * reads and writes the ranges it is asked (`Workers.Range`), as `Workers` in core says.
 *
 * @since 0.1.0
 */

import { workerData } from "node:worker_threads"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import { SqlClient } from "@effect/sql"
import { Workers } from "@ground-truth/core"
import { Effect, Layer, Redacted } from "effect"
import * as Database from "./Database.js"

const { url } = workerData as { readonly url: string }

const runner = WorkerRunner.layerSerialized(Workers.Request, {
  Open: ({ snapshot }) =>
    Layer.scoped(
      SqlClient.TransactionConnection,
      Effect.map(Workers.imported(snapshot), (conn) => [conn, 0] as const)
    ),
  Range: Workers.range
})

WorkerRunner.launch(
  runner.pipe(Layer.provide(NodeWorkerRunner.layer), Layer.provide(Database.postgres(Redacted.make(url), 1)))
).pipe(NodeRuntime.runMain)
