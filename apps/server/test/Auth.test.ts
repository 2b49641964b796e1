/** Access control: bearer tokens on `/api/`, open health and documents, no open bind beyond loopback. */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { ConfigProvider, Effect, Layer } from "effect"
import { ApiTokens, isLoopback } from "../src/Auth.js"
import { baseUrl, bytes, type ErrorBody, get, json, serve, serverBin } from "./server.js"

const [embedded] = TestDatabase.targets()
const exportPath = "/api/v1/ground-truth/export?approved_only=false"
const all = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!

const expectRefused = (response: Response, message: string) =>
  Effect.gen(function* () {
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="ground-truth"')
    const body = yield* json<ErrorBody>(response)
    expect(body).toEqual({ error: { code: "unauthorized", message } })
  })

layer(
  serve(
    Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(embedded.layer)),
    ApiTokens.make(["alpha-token", "beta-token"])
  ),
  {
    timeout: 60_000
  }
)("with tokens", (it) => {
  it.effect("a request without a token, with another scheme or with a wrong token gets a 401", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      yield* expectRefused(
        yield* get(`${base}${exportPath}`),
        "this server needs an Authorization: Bearer <token> header"
      )
      yield* expectRefused(
        yield* get(`${base}/api/v1/ground-truth/stats`, { headers: { authorization: "Basic YWxwaGE6" } }),
        "the Authorization header must be Bearer <token>"
      )
      for (const wrong of ["alpha-toke", "alpha-tokenx", "ALPHA-TOKEN", "alpha-token,beta-token"]) {
        yield* expectRefused(
          yield* get(`${base}${exportPath}`, { headers: { authorization: `Bearer ${wrong}` } }),
          "the token is not accepted"
        )
      }
      yield* expectRefused(
        yield* get(`${base}/api/v1/ground-truth/manifest`),
        "this server needs an Authorization: Bearer <token> header"
      )
      // The review endpoints: refused before the reviewer or the body is even looked at.
      yield* expectRefused(
        yield* get(`${base}/api/v1/jobs/9c6d3aa8-d173-44bb-9076-000000000009/approve`, {
          method: "POST",
          headers: { "x-user-id": "reviewer-a" }
        }),
        "this server needs an Authorization: Bearer <token> header"
      )
      // Unknown paths under /api/ are refused too: nothing about the API shows without a token.
      expect((yield* get(`${base}/api/v1/ground-truth/nothing`)).status).toBe(401)
    })
  )

  it.effect("each configured token opens the export and the stats, byte for byte", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      for (const token of ["alpha-token", "beta-token"]) {
        const response = yield* get(`${base}${exportPath}`, { headers: { authorization: `Bearer ${token}` } })
        expect(response.status).toBe(200)
        expect((yield* bytes(response)).equals(Golden.expectedExport(all))).toBe(true)
      }
      const stats = yield* get(`${base}/api/v1/ground-truth/stats`, {
        headers: { authorization: "bearer beta-token" }
      })
      expect(stats.status).toBe(200)
      expect((yield* bytes(stats)).equals(Golden.expectedStats(Golden.statsCases[0]))).toBe(true)
    })
  )

  it.effect("health and the API documents stay open", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      for (const p of ["/healthz", "/openapi.json", "/docs"])
        expect((yield* get(`${base}${p}`)).status).toBe(200)
      const doc = yield* json<{ paths: Record<string, { get: { responses: Record<string, unknown> } }> }>(
        yield* get(`${base}/openapi.json`)
      )
      expect(Object.keys(doc.paths["/api/v1/ground-truth/export"].get.responses)).toContain("401")
    })
  )
})

describe("tokens from the environment", () => {
  const load = (env: Record<string, string>) =>
    Effect.map(ApiTokens, (t) => t.digests.length).pipe(
      Effect.provide(
        ApiTokens.layer.pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
        )
      )
    )

  it.effect("come from the variable, the file, or both; blanks are ignored", () =>
    Effect.gen(function* () {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gt-tokens-")), "tokens")
      fs.writeFileSync(file, "one\n two \n\n")
      expect(yield* load({})).toBe(0)
      expect(yield* load({ GROUND_TRUTH_API_TOKENS: "a, b,," })).toBe(2)
      expect(yield* load({ GROUND_TRUTH_API_TOKENS_FILE: file })).toBe(2)
      expect(yield* load({ GROUND_TRUTH_API_TOKENS: "a", GROUND_TRUTH_API_TOKENS_FILE: file })).toBe(3)
      const missing = yield* Effect.flip(load({ GROUND_TRUTH_API_TOKENS_FILE: `${file}.absent` }))
      expect(missing.message).toContain("cannot read GROUND_TRUTH_API_TOKENS_FILE")
    })
  )

  it("loopback hosts", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1"]) expect(isLoopback(h)).toBe(true)
    for (const h of ["0.0.0.0", "::", "192.168.1.10", "example.org", "127.0.0.1.example.org"])
      expect(isLoopback(h)).toBe(false)
  })
})

describe("the server process", () => {
  /** Runs `pnpm serve` with `env` until it logs that it listens (then stops it) or exits by itself. */
  const run = (env: Record<string, string>) =>
    new Promise<{ readonly code: number | null; readonly output: string; readonly listened: boolean }>(
      (resolve) => {
        const { DATABASE_URL: _, ...rest } = process.env
        const child = spawn(process.execPath, [serverBin], {
          env: { ...rest, GROUND_TRUTH_DATA_DIR: "memory://", PORT: "0", ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        let listened = false
        const read = (b: Buffer) => {
          output += b.toString("utf8")
          if (!listened && output.includes('"message":"listening"')) {
            listened = true
            child.kill("SIGTERM")
          }
        }
        child.stdout.on("data", read)
        child.stderr.on("data", read)
        child.on("close", (code) => resolve({ code, output, listened }))
      }
    )

  it("refuses to listen beyond loopback without tokens, and says why", { timeout: 120_000 }, async () => {
    const open = await run({ HOST: "0.0.0.0" })
    expect(open.listened).toBe(false)
    expect(open.code).toBe(1)
    expect(open.output).toContain("refusing to listen on 0.0.0.0 without access control")
    const guarded = await run({ HOST: "0.0.0.0", GROUND_TRUTH_API_TOKENS: "secret-token-value" })
    expect(guarded.listened).toBe(true)
    // The token is never written to the logs.
    expect(guarded.output).not.toContain("secret-token-value")
  })
})
