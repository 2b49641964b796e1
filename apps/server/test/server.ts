/** The real server app on an ephemeral loopback port, over a test database, in-process or as `pnpm serve`. */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
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

export const serverBin = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "serve.mjs")

/**
 * `pnpm serve` in its own process over `databaseUrl`, on a free loopback port, until the scope closes;
 * its base URL once it logs that it listens, and its output so far.
 */
export const serverProcess = (databaseUrl: string, nodeArgs: ReadonlyArray<string> = []) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly child: ChildProcess; readonly base: string; readonly output: () => string }>(
          (resolve, reject) => {
            const child = spawn(process.execPath, [...nodeArgs, serverBin], {
              env: { ...process.env, DATABASE_URL: databaseUrl, PORT: "0", HOST: "127.0.0.1" },
              stdio: ["ignore", "pipe", "inherit"]
            })
            let out = ""
            child.stdout.on("data", (b: Buffer) => {
              out += b.toString("utf8")
              const address = /"address":"(http:\/\/[^"]+)"/.exec(out)
              if (address) resolve({ child, base: address[1], output: () => out })
            })
            child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${out}`)))
          }
        )
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )
