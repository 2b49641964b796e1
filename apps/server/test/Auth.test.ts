/**
 * Access control: bearer tokens in two scopes on every API route under every spelling the router
 * matches, open health and documents, tokens named in logs by digest only, no open bind beyond loopback.
 */
import { execFileSync, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Api } from "@ground-truth/protocol/Api"
import { ConfigProvider, Effect, Layer } from "effect"
import { ApiTokens, isLoopback } from "../src/Auth.js"
import { baseUrl, bytes, type ErrorBody, get, json, requests, serve, serverBin } from "./server.js"

const [embedded] = TestDatabase.targets()
const exportPath = "/api/v1/ground-truth/export?approved_only=false"
const all = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!
const J9 = "9c6d3aa8-d173-44bb-9076-000000000009"
const READ = ["alpha-token", "beta-token"]
const REVIEW = "gamma-review-token"

const expectRefused = (response: Response, message: string) =>
  Effect.gen(function* () {
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="ground-truth"')
    const body = yield* json<ErrorBody>(response)
    expect(body).toEqual({ error: { code: "unauthorized", message } })
  })

/**
 * Every route of the API definition with a job id and a body that would succeed if let through, and
 * whether it writes (a review token only: the jobs group's POSTs; evaluation's POST only reads).
 */
const routes = Object.values(Api.groups).flatMap((group) =>
  Object.values(group.endpoints).map((endpoint) => ({
    method: endpoint.method,
    path: endpoint.path.replace(":id", J9),
    writes: group.identifier === "jobs" && endpoint.method === "POST",
    body:
      endpoint.name === "correct"
        ? '{"field_path":"header.perihal","new_value":"walked around"}'
        : endpoint.name === "eval"
          ? `{"job_id":"${J9}","result":{}}\n`
          : undefined
  }))
)
const apiRoutes = routes.filter((r) => r.path.startsWith("/api/"))

/**
 * Spellings of a path that a router, a proxy or a client may treat as the same route: case, doubled,
 * encoded and back slashes, encoded letters, dot segments, trailing slashes and dots, empty queries,
 * path parameters.
 */
const spellings = (p: string): ReadonlyArray<string> => {
  const segments = p.split("/").slice(1)
  const join = (s: ReadonlyArray<string>) => `/${s.join("/")}`
  const encodeFirst = (s: string) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`
  const out = new Set<string>([
    p,
    p.toUpperCase(),
    `/${p.slice(1, 2).toUpperCase()}${p.slice(2)}`,
    `/${p}`,
    `//${p}`,
    p.replaceAll("/", "//"),
    `${p}/`,
    `${p}//`,
    `${p}/.`,
    `${p}?`,
    `${p};x`,
    `/.${p}`,
    `/x/..${p}`,
    `/api/..${p}`,
    `/%2e${p}`,
    `/%2e%2e${p}`,
    p.replaceAll("/", "%2F"),
    p.replaceAll("/", "%2f").replace(/^%2f/, "/"),
    p.replaceAll("/", "\\"),
    `/${p.slice(1).replace("/", "\\")}`,
    encodeURI(p).replaceAll("-", "%2D"),
    `${p}%20`,
    `${p}%00`,
    `${p}#`,
    `http://example.org${p}`
  ])
  segments.forEach((_, i) => {
    const upper = segments.map((s, j) => (i === j ? s.toUpperCase() : s))
    const encoded = segments.map((s, j) => (i === j ? encodeFirst(s) : s))
    const doubled = segments.map((s, j) => (i === j ? `/${s}` : s))
    const dotted = [...segments.slice(0, i), ".", ...segments.slice(i)]
    const backtracked = [...segments.slice(0, i), "x", "..", ...segments.slice(i)]
    const encodedDots = [...segments.slice(0, i), "x", "%2e%2e", ...segments.slice(i)]
    for (const s of [upper, encoded, doubled, dotted, backtracked, encodedDots]) out.add(join(s))
    out.add(join(upper).replaceAll("/", "//"))
  })
  return [...out]
}

/** One request with its path sent as it is (fetch would normalize it first), and its status. */
const raw = (base: string, method: string, target: string, headers: Record<string, string>, body?: string) =>
  Effect.promise(
    () =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(base)
        const request = http.request(
          {
            host: url.hostname,
            port: url.port,
            method,
            path: target,
            headers: {
              ...headers,
              "x-user-id": "walker",
              ...(body ? { "content-type": "application/json" } : {})
            }
          },
          (response) => {
            response.resume()
            response.on("end", () => resolve(response.statusCode ?? 0))
          }
        )
        request.on("error", reject)
        request.end(body)
      })
  )

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

layer(
  serve(
    Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(embedded.layer)),
    ApiTokens.make({ read: READ, review: [REVIEW] })
  ),
  { timeout: 120_000 }
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
          yield* get(`${base}${exportPath}`, { headers: bearer(wrong) }),
          "the token is not accepted"
        )
      }
      yield* expectRefused(
        yield* get(`${base}/api/v1/ground-truth/manifest`),
        "this server needs an Authorization: Bearer <token> header"
      )
      // The review endpoints: refused before the reviewer or the body is even looked at.
      yield* expectRefused(
        yield* get(`${base}/api/v1/jobs/${J9}/approve`, {
          method: "POST",
          headers: { "x-user-id": "reviewer-a" }
        }),
        "this server needs an Authorization: Bearer <token> header"
      )
    })
  )

  it.effect("no spelling of any API route answers 2xx without a token, nor a write with a read token", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      expect(apiRoutes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
        `DELETE /api/v1/ground-truth/plan/${J9}`,
        "GET /api/v1/ground-truth/calibration",
        "GET /api/v1/ground-truth/changes",
        "GET /api/v1/ground-truth/export",
        "GET /api/v1/ground-truth/lint",
        "GET /api/v1/ground-truth/manifest",
        "GET /api/v1/ground-truth/plan",
        "GET /api/v1/ground-truth/report",
        "GET /api/v1/ground-truth/stats",
        `GET /api/v1/jobs/${J9}`,
        "POST /api/v1/ground-truth/eval",
        `POST /api/v1/jobs/${J9}/approve`,
        `POST /api/v1/jobs/${J9}/corrections`,
        `POST /api/v1/jobs/${J9}/reject`
      ])
      const seen = new Map<number, number>()
      let tried = 0
      let spelled = 0
      for (const route of apiRoutes) {
        // HEAD is answered by a GET route; OPTIONS by none.
        const methods = route.method === "GET" ? ["GET", "HEAD", "OPTIONS"] : [route.method, "OPTIONS"]
        const variants = spellings(route.path)
        spelled += variants.length
        for (const spelling of variants) {
          for (const method of methods) {
            const attempts: ReadonlyArray<Record<string, string>> =
              method === "POST" && route.writes ? [{}, bearer(READ[0])] : [{}]
            for (const headers of attempts) {
              const status = yield* raw(
                base,
                method,
                spelling,
                headers,
                method === "POST" ? route.body : undefined
              )
              tried++
              seen.set(status, (seen.get(status) ?? 0) + 1)
              if (status >= 200 && status < 300)
                expect.fail(`${method} ${spelling} with ${JSON.stringify(headers)} answered ${status}`)
              expect(status).toBeLessThan(500)
            }
          }
        }
      }
      // The router does match other spellings (upper case, doubled slashes, encoded letters): each one it
      // matched was refused by the route's own check, not by luck.
      console.log(
        `${spelled} spellings of ${apiRoutes.length} routes, ${tried} requests: statuses ${JSON.stringify(Object.fromEntries(seen))}`
      )
      expect(seen.get(401) ?? 0).toBeGreaterThan(apiRoutes.length * 10)
      expect(seen.get(403) ?? 0).toBeGreaterThan(3 * 10)
      // Nothing was written: the corpus is the golden one, byte for byte.
      const response = yield* get(`${base}${exportPath}`, { headers: bearer(REVIEW) })
      expect((yield* bytes(response)).equals(Golden.expectedExport(all))).toBe(true)
    })
  )

  it.effect("read tokens read; only review tokens write (403 forbidden for a read token)", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      for (const token of [...READ, REVIEW]) {
        const response = yield* get(`${base}${exportPath}`, { headers: bearer(token) })
        expect(response.status).toBe(200)
        expect((yield* bytes(response)).equals(Golden.expectedExport(all))).toBe(true)
        expect((yield* get(`${base}/api/v1/jobs/${J9}`, { headers: bearer(token) })).status).toBe(200)
      }
      const stats = yield* get(`${base}/api/v1/ground-truth/stats`, {
        headers: { authorization: "bearer beta-token" }
      })
      expect(stats.status).toBe(200)
      expect((yield* bytes(stats)).equals(Golden.expectedStats(Golden.statsCases[0]))).toBe(true)

      const write = (action: string, token: string, body?: string) =>
        get(`${base}/api/v1/jobs/${J9}/${action}`, {
          method: "POST",
          headers: { ...bearer(token), "x-user-id": "reviewer-a", "content-type": "application/json" },
          ...(body === undefined ? {} : { body })
        })
      const correction = '{"field_path":"header.perihal","new_value":"Penyelidikan"}'
      for (const [action, body] of [["corrections", correction], ["approve"], ["reject"]] as const) {
        const refused = yield* write(action, READ[1], body)
        expect(refused.status).toBe(403)
        expect(refused.headers.get("www-authenticate")).toBeNull()
        expect(yield* json<ErrorBody>(refused)).toEqual({
          error: {
            code: "forbidden",
            message:
              "this token may read but not write: corrections, approvals and rejections need a review token"
          }
        })
      }
      const unchanged = yield* get(`${base}${exportPath}`, { headers: bearer(REVIEW) })
      expect((yield* bytes(unchanged)).equals(Golden.expectedExport(all))).toBe(true)

      const recorded = yield* write("corrections", REVIEW, correction)
      expect(recorded.status).toBe(201)
      expect((yield* write("reject", REVIEW)).status).toBe(200)
      const view = yield* json<{ corrections: ReadonlyArray<{ new_value: unknown }> }>(
        yield* get(`${base}/api/v1/jobs/${J9}`, { headers: bearer(READ[0]) })
      )
      expect(view.corrections.at(-1)?.new_value).toBe("Penyelidikan")
    })
  )

  it.effect("health and the API documents stay open; the document declares the bearer scheme", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      for (const p of ["/healthz", "/openapi.json", "/docs"])
        expect((yield* get(`${base}${p}`)).status).toBe(200)
      const doc = yield* json<{
        paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>
        components: { securitySchemes: Record<string, { type: string; scheme: string }> }
      }>(yield* get(`${base}/openapi.json`))
      expect(Object.keys(doc.paths["/api/v1/ground-truth/export"].get.responses)).toContain("401")
      expect(Object.keys(doc.paths["/api/v1/jobs/{id}/approve"].post.responses)).toEqual(
        expect.arrayContaining(["401", "403"])
      )
      expect(Object.values(doc.components.securitySchemes)).toContainEqual(
        expect.objectContaining({ type: "http", scheme: "bearer" })
      )
    })
  )
})

describe("tokens from the environment", () => {
  const load = (env: Record<string, string>) =>
    Effect.map(ApiTokens, (t) => t.tokens.map((x) => x.scope).join(",")).pipe(
      Effect.provide(
        ApiTokens.layer.pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
        )
      )
    )

  it.effect("come from the variables, the files, or both; blanks are ignored", () =>
    Effect.gen(function* () {
      const a = "a".repeat(16)
      const r = "r-_.~+/".repeat(3)
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gt-tokens-")), "tokens")
      fs.writeFileSync(file, `${"1".repeat(20)}\n ${"2".repeat(20)}== \n\n`)
      expect(yield* load({})).toBe("")
      // An empty variable is an unset one (as a compose file writes it).
      expect(yield* load({ GROUND_TRUTH_API_TOKENS: "" })).toBe("")
      expect(yield* load({ GROUND_TRUTH_API_TOKENS_FILE: "", GROUND_TRUTH_REVIEW_TOKENS_FILE: "" })).toBe("")
      expect(yield* load({ GROUND_TRUTH_API_TOKENS: `${a}, ${a}b,,` })).toBe("read,read")
      expect(yield* load({ GROUND_TRUTH_API_TOKENS_FILE: file })).toBe("read,read")
      expect(yield* load({ GROUND_TRUTH_API_TOKENS: a, GROUND_TRUTH_API_TOKENS_FILE: file })).toBe(
        "read,read,read"
      )
      expect(yield* load({ GROUND_TRUTH_REVIEW_TOKENS: r, GROUND_TRUTH_REVIEW_TOKENS_FILE: file })).toBe(
        "review,review,review"
      )
      expect(yield* load({ GROUND_TRUTH_API_TOKENS: a, GROUND_TRUTH_REVIEW_TOKENS: r })).toBe("read,review")
    })
  )

  it.effect("a variable that would leave the API open or hold an unusable token stops the server", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-tokens-"))
      const empty = path.join(dir, "empty")
      fs.writeFileSync(empty, "\n \n")
      const refused = (env: Record<string, string>) => Effect.map(Effect.flip(load(env)), (e) => e.message)
      expect(yield* refused({ GROUND_TRUTH_REVIEW_TOKENS_FILE: `${empty}.absent` })).toMatch(
        new RegExp(`^GROUND_TRUTH_REVIEW_TOKENS_FILE: cannot read ${empty}\\.absent: ENOENT`)
      )
      expect(yield* refused({ GROUND_TRUTH_API_TOKENS: " , " })).toBe(
        "GROUND_TRUTH_API_TOKENS: is set but holds no token, which would leave the API open; set a token or unset it"
      )
      expect(yield* refused({ GROUND_TRUTH_REVIEW_TOKENS_FILE: empty })).toBe(
        "GROUND_TRUTH_REVIEW_TOKENS_FILE: is set but holds no token, which would leave the API open; set a token or unset it"
      )
      // Only the empty string is unset: blanks alone are refused, as a file of blanks is.
      for (const blanks of ["   ", "\t", " \n "])
        expect(yield* refused({ GROUND_TRUTH_API_TOKENS: blanks })).toBe(
          "GROUND_TRUTH_API_TOKENS: is set but holds no token, which would leave the API open; set a token or unset it"
        )
      const secret = `${"s".repeat(20)} é`
      const badCharacters = yield* refused({ GROUND_TRUTH_API_TOKENS: `${"x".repeat(20)},${secret}` })
      expect(badCharacters).toBe(
        'GROUND_TRUTH_API_TOKENS: token 2 has characters a client cannot send after "Bearer " (RFC 6750: letters, digits, -._~+/ and a final =)'
      )
      expect(yield* refused({ GROUND_TRUTH_REVIEW_TOKENS: "short-token" })).toBe(
        "GROUND_TRUTH_REVIEW_TOKENS: token 1 has 11 characters; at least 16 (openssl rand -hex 32 makes one)"
      )
    })
  )

  it.effect("a token file that is not a regular file is refused without being read", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-tokens-"))
      const fifo = path.join(dir, "fifo")
      execFileSync("mkfifo", [fifo])
      const refused = (file: string) =>
        Effect.map(Effect.flip(load({ GROUND_TRUTH_API_TOKENS_FILE: file })), (e) => e.message)
      // No writer ever opens the pipe: reading it would wait for one forever.
      expect(yield* refused(fifo)).toBe(
        `GROUND_TRUTH_API_TOKENS_FILE: ${fifo} is a named pipe (FIFO), not a regular file; name a file that holds the tokens`
      )
      expect(yield* refused(dir)).toBe(
        `GROUND_TRUTH_API_TOKENS_FILE: ${dir} is a directory, not a regular file; name a file that holds the tokens`
      )
      // Would never end.
      expect(yield* refused("/dev/zero")).toBe(
        "GROUND_TRUTH_API_TOKENS_FILE: /dev/zero is a character device, not a regular file; name a file that holds the tokens"
      )
      // A link to a regular file (as a secrets mount makes) is read.
      const tokens = path.join(dir, "tokens")
      fs.writeFileSync(tokens, `${"t".repeat(20)}\n`)
      fs.symlinkSync(tokens, path.join(dir, "link"))
      expect(yield* load({ GROUND_TRUTH_API_TOKENS_FILE: path.join(dir, "link") })).toBe("read")
    })
  )

  it("loopback hosts", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1"]) expect(isLoopback(h)).toBe(true)
    for (const h of ["0.0.0.0", "::", "192.168.1.10", "example.org", "127.0.0.1.example.org"])
      expect(isLoopback(h)).toBe(false)
  })
})

describe("the server process", () => {
  /**
   * Runs the server with `env`; once it listens, makes the requests `then` asks for and stops it.
   * Resolves with its exit status and everything it printed.
   */
  const run = (env: Record<string, string>, then: (base: string) => Promise<void> = async () => {}) =>
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
          const address = /"address":"http:\/\/[^:]+:(\d+)"/.exec(output)
          if (!listened && address) {
            listened = true
            then(`http://127.0.0.1:${address[1]}`).finally(() => child.kill("SIGTERM"))
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
    // Review tokens alone are access control too.
    const reviewOnly = await run({ HOST: "0.0.0.0", GROUND_TRUTH_REVIEW_TOKENS: "secret-review-value" })
    expect(reviewOnly.listened).toBe(true)
  })

  it("logs name a token by its digest prefix, never the token", { timeout: 120_000 }, async () => {
    const statuses: Array<number> = []
    const guarded = await run(
      { HOST: "0.0.0.0", GROUND_TRUTH_API_TOKENS: "secret-token-value" },
      async (base) => {
        const request = (method: string, p: string, token: string) =>
          fetch(`${base}${p}`, {
            method,
            headers: { authorization: `Bearer ${token}`, "x-user-id": "r" }
          }).then(async (r) => {
            await r.arrayBuffer()
            statuses.push(r.status)
          })
        await request("GET", "/api/v1/ground-truth/stats", "secret-token-value")
        await request("POST", `/api/v1/jobs/${J9}/approve`, "secret-token-value")
        await request("GET", "/api/v1/ground-truth/stats", "wrong-token-value")
        // The router takes `//api/…` for `/api/…`; the log keeps the path as it was sent.
        await request("GET", "//api/v1/ground-truth/stats?since=2025-01-01", "secret-token-value")
      }
    )
    expect(statuses).toEqual([200, 403, 401, 200])
    const logged = requests(guarded.output)
    const id = (t: string) => createHash("sha256").update(t).digest("hex").slice(0, 12)
    expect(logged.map((r) => [r.status, r.path, r.token])).toEqual([
      [200, "/api/v1/ground-truth/stats", id("secret-token-value")],
      [403, `/api/v1/jobs/${J9}/approve`, id("secret-token-value")],
      [401, "/api/v1/ground-truth/stats", id("wrong-token-value")],
      [200, "//api/v1/ground-truth/stats", id("secret-token-value")]
    ])
    expect(guarded.output).not.toContain("secret-token-value")
    expect(guarded.output).not.toContain("wrong-token-value")
  })
})
