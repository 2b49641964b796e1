/** The real server app on an ephemeral loopback port, over a test database. */
import { createServer } from "node:http"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql"
import type { Database, TestDatabase } from "@ground-truth/db"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { ApiTokens } from "../src/Auth.js"
import * as Http from "../src/Http.js"

export const serve = <E>(
  db: Layer.Layer<SqlClient.SqlClient | Database.DatabaseInfo | TestDatabase.TestDatabase, E>,
  tokens: Layer.Layer<ApiTokens> = ApiTokens.make([])
) =>
  Http.layer.pipe(
    Layer.provide(Http.services),
    Layer.provide(tokens),
    Layer.provideMerge(
      NodeHttpServer.layer(() => createServer(Http.nodeServerOptions), { host: "127.0.0.1", port: 0 })
    ),
    Layer.provideMerge(db),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )

/** `http://127.0.0.1:<port>` of the running server. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : server.address.path
)

export const get = (url: string, init?: RequestInit) => Effect.promise(() => fetch(url, init))

export const bytes = (response: Response) =>
  Effect.promise(async () => Buffer.from(await response.arrayBuffer()))

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly parameter?: string }
}

export const json = <A>(response: Response) => Effect.promise(() => response.json() as Promise<A>)
