/**
 * The launcher's code cache (scripts/bundle.cjs): named after a hash of the bundle it was made from (and
 * of Node's version and flags), and a cache V8 refuses (damaged, say) is replaced rather than trusted or
 * fatal.
 *
 * The damage is done to a private copy of the bundle, run through the same `run`: the launcher's own
 * cache is shared with every CLI the other test files start meanwhile, and one of them, reading the
 * damaged bytes, would write a cache of its own.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bin, run, startProcess } from "./cli.js"

const build = path.join(path.dirname(bin), "..", "build")
const bundleScript = path.join(path.dirname(bin), "..", "..", "..", "scripts", "bundle.cjs")

/** The V8 flags the launcher sets (scripts/launch.mjs), written here apart from it. */
const FLAGS = ["--semi-space-growth-factor=1", "--heap-growing-percent=10", "--liftoff-only"]

/**
 * The cache `run` should use for `bundle` as it is now, run by this Node without flags on its command
 * line and with `FLAGS` set by the launcher.
 */
const expectedCache = (bundle: string) => {
  const hash = createHash("sha256")
    .update(fs.readFileSync(bundle))
    .update(`\0${process.version}\0\0${FLAGS.join("\0")}`)
    .digest("hex")
  return `${bundle.slice(0, -".cjs".length)}.${hash.slice(0, 32)}.cache`
}

/**
 * `--version` of the CLI bundle at `bundle`, run as the launcher runs it (a script beside it calls `run`
 * and `start`, so that the CLI reads its arguments from the third on): its status and output.
 */
const version = (bundle: string) =>
  Effect.promise(() => {
    const runner = path.join(path.dirname(bundle), "runner.cjs")
    fs.writeFileSync(
      runner,
      `require(${JSON.stringify(bundleScript)}).run(${JSON.stringify(bundle)}, { flags: ${JSON.stringify(FLAGS)} }).start()\n`
    )
    return startProcess(process.execPath, [runner, "--version"]).done.then(({ code, stdout, stderr }) => ({
      code,
      stdout: stdout.toString("utf8"),
      stderr
    }))
  })

describe("code cache", () => {
  it.effect(
    "is written beside the bundle under the bundle's hash, and a damaged one is replaced",
    () =>
      Effect.gen(function* () {
        // The launcher's own: named after its bundle, Node and flags, with the Node modules it loads.
        const first = yield* run(["--version"])
        expect(first.code).toBe(0)
        const launched = expectedCache(path.join(build, "bin.cjs"))
        expect(fs.existsSync(launched)).toBe(true)
        const builtins: unknown = JSON.parse(fs.readFileSync(`${launched}.builtins.json`, "utf8"))
        expect(builtins).toEqual(expect.arrayContaining(["fs", "net", "crypto", "worker_threads"]))
        const shown = first.stdout.toString("utf8")
        expect(shown).toMatch(/^\d+\.\d+\.\d+\n/)

        // A private copy: the first start writes its cache, named as the launcher's would be.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-code-cache-"))
        try {
          const bundle = path.join(dir, "bin.cjs")
          fs.copyFileSync(path.join(build, "bin.cjs"), bundle)
          const made = yield* version(bundle)
          expect(made).toEqual({ code: 0, stdout: shown, stderr: "" })
          const cache = expectedCache(bundle)
          expect(fs.existsSync(cache)).toBe(true)

          // Bytes V8 cannot use: the start compiles the source instead, and writes a good cache again.
          const garbage = Buffer.alloc(4096, 0x5a)
          fs.writeFileSync(cache, garbage)
          const second = yield* version(bundle)
          expect(second).toEqual({ code: 0, stdout: shown, stderr: "" })
          const rewritten = fs.readFileSync(cache)
          expect(rewritten.equals(garbage)).toBe(false)
          expect(rewritten.length).toBeGreaterThan(100_000)

          // And the cache is used as it is: the next start leaves it alone.
          const third = yield* version(bundle)
          expect(third.stdout).toBe(shown)
          expect(fs.readFileSync(cache).equals(rewritten)).toBe(true)
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      }),
    120_000
  )
})
