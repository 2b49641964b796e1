/** The real server app on an ephemeral loopback port, over a test database, in-process or as `pnpm serve`. */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
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
  tokens: Layer.Layer<ApiTokens> = ApiTokens.make({})
) =>
  Http.layer.pipe(
    Layer.provide(Http.services),
    Layer.provide(tokens),
    Layer.provideMerge(NodeHttpServer.layer(Http.createNodeServer, { host: "127.0.0.1", port: 0 })),
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

/** A GET over `node:http`, which decodes nothing: the status, headers and the bytes as they came. */
export const raw = (url: string, headers: Record<string, string>) =>
  Effect.promise(
    () =>
      new Promise<{
        readonly status: number
        readonly headers: http.IncomingHttpHeaders
        readonly body: Buffer
      }>((resolve, reject) => {
        http
          .get(url, { headers }, (response) => {
            const parts: Array<Buffer> = []
            response.on("data", (b: Buffer) => parts.push(b))
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body: Buffer.concat(parts)
              })
            )
            response.on("error", reject)
          })
          .on("error", reject)
      })
  )

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly parameter?: string }
}

export const json = <A>(response: Response) => Effect.promise(() => response.json() as Promise<A>)

export const serverBin = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "serve.mjs")

/**
 * `pnpm serve` in its own process over `databaseUrl`, on a free loopback port, until the scope closes;
 * its base URL once it logs that it listens, and its output so far.
 */
export const serverProcess = (
  databaseUrl: string,
  nodeArgs: ReadonlyArray<string> = [],
  env: Record<string, string> = {}
) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly child: ChildProcess; readonly base: string; readonly output: () => string }>(
          (resolve, reject) => {
            const child = spawn(process.execPath, [...nodeArgs, serverBin], {
              env: { ...process.env, ...env, DATABASE_URL: databaseUrl, PORT: "0", HOST: "127.0.0.1" },
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

/** What a server process's request log says of one request. */
export interface RequestEntry {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly bytes: number
  readonly duration_ms: number
  readonly token?: string
  readonly outcome?: string
}

/** The `request` entries in a server process's output so far, those whose path contains `path`. */
export const requests = (output: string, path = ""): Array<RequestEntry> =>
  output
    .split("\n")
    .filter((l) => /^\{"message":"request( failed)?"/.test(l))
    .map((l) => JSON.parse(l).annotations as RequestEntry)
    .filter((r) => r.path.includes(path))

/** Waits real time, not the test clock: a server process and the database need it to pass. */
export const realSleep = (ms: number) =>
  Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/** A free loopback port. */
export const freePort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as net.AddressInfo
        probe.close(() => resolve(port))
      })
    })
)

/** A TCP proxy's connection counts: open now, the most open at once, and all so far. */
export interface Connections {
  readonly open: () => number
  readonly peak: () => number
  readonly total: () => number
}

/** Forwards loopback `port` to the database at `target` from now on, until the scope closes. */
export const proxy = (port: number, target: URL) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly server: net.Server; readonly connections: Connections }>((resolve) => {
          let open = 0
          let peak = 0
          let total = 0
          const server = net.createServer((socket) => {
            open++
            total++
            peak = Math.max(peak, open)
            socket.once("close", () => open--)
            const upstream = net.connect(Number(target.port || 5432), target.hostname)
            socket.on("error", () => upstream.destroy())
            upstream.on("error", () => socket.destroy())
            upstream.once("close", () => socket.destroy())
            socket.pipe(upstream).pipe(socket)
          })
          server.listen(port, "127.0.0.1", () =>
            resolve({ server, connections: { open: () => open, peak: () => peak, total: () => total } })
          )
        })
    ),
    ({ server }) => Effect.sync(() => server.close())
  ).pipe(Effect.map(({ connections }) => connections))

/** Resident memory of a process, now and at its peak (`VmRSS`, `VmHWM`), in bytes. */
export const memory = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024
  return { rss: kib("VmRSS"), peak: kib("VmHWM") }
}
