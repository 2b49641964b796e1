/**
 * The launcher's code cache (scripts/bundle.cjs): named after a hash of the bundle it was made from (and
 * of Node's version and flags), and a cache V8 refuses (damaged, say) is replaced rather than trusted or
 * fatal.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bin, run } from "./cli.js"

const build = path.join(path.dirname(bin), "..", "build")

/**
 * The cache the launcher should use for the bundle as it is now, run by this Node without flags on its
 * command line and with the V8 flags the launcher sets itself.
 */
const expectedCache = () => {
  const hash = createHash("sha256")
    .update(fs.readFileSync(path.join(build, "bin.cjs")))
    .update(`\0${process.version}\0\0--semi-space-growth-factor=1\0--heap-growing-percent=10\0--liftoff-only`)
    .digest("hex")
  return path.join(build, `bin.${hash.slice(0, 32)}.cache`)
}

describe("code cache", () => {
  it.effect(
    "is written beside the bundle under the bundle's hash, and a damaged one is replaced",
    () =>
      Effect.gen(function* () {
        const first = yield* run(["--version"])
        expect(first.code).toBe(0)
        const cache = expectedCache()
        expect(fs.existsSync(cache)).toBe(true)
        // Beside it, the Node modules the bundle loaded as it started, loaded first at the next start.
        const builtins: unknown = JSON.parse(fs.readFileSync(`${cache}.builtins.json`, "utf8"))
        expect(builtins).toEqual(expect.arrayContaining(["fs", "net", "crypto", "worker_threads"]))
        const version = first.stdout.toString("utf8")
        expect(version).toMatch(/^\d+\.\d+\.\d+\n/)

        // Bytes V8 cannot use: the start compiles the source instead, and writes a good cache again.
        const garbage = Buffer.alloc(4096, 0x5a)
        fs.writeFileSync(cache, garbage)
        const second = yield* run(["--version"])
        expect(second.code).toBe(0)
        expect(second.stderr).toBe("")
        expect(second.stdout.toString("utf8")).toBe(version)
        const rewritten = fs.readFileSync(cache)
        expect(rewritten.equals(garbage)).toBe(false)
        expect(rewritten.length).toBeGreaterThan(100_000)

        // And the cache is used as it is: the next start leaves it alone.
        const third = yield* run(["--version"])
        expect(third.stdout.toString("utf8")).toBe(version)
        expect(fs.readFileSync(cache).equals(rewritten)).toBe(true)
      }),
    120_000
  )
})
