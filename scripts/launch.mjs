// Runs an app from an esbuild bundle of its TypeScript sources: plain node starts a bundle in ~0.3 s,
// where loading the sources through a TypeScript loader takes ~1.7 s. The bundle is rebuilt first
// whenever it may be stale, so the command always runs the code in the tree, and run with V8's code
// cache (scripts/bundle.cjs).
import * as fs from "node:fs"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
/** Builds a bundle when it may be stale (CommonJS: the export workers' layer requires it from a bundle). */
const { bundled, run } = require("./bundle.cjs")

/**
 * `pnpm serve` and `pnpm ground-truth` run us under a shell that pnpm started. Sent SIGTERM, pnpm exits
 * without passing the signal on, and the app would go on running, orphaned (a server still answering).
 * So when that shell goes away, we stop as if SIGTERM had reached us. Only then: the parent must be the
 * shell running this very script (`sh -c <npm_lifecycle_script>`, read from /proc), not any process
 * that merely inherited pnpm's environment and may rightly leave us running.
 */
const stopWithParent = () => {
  const parent = process.ppid
  let command
  try {
    command = fs
      .readFileSync(`/proc/${parent}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "")
  } catch {
    return
  }
  if (command.at(-1) !== process.env.npm_lifecycle_script) return
  const watch = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(watch)
    process.kill(process.pid, "SIGTERM")
  }, 250)
  watch.unref()
}

/**
 * V8 flags for memory (docs/performance.md, "Memory"): the young generation stays at the size Node started it with
 * (a 1 MB semi-space: each batch of rows is collected young), the old one is collected before it grows by
 * a tenth, and WebAssembly (the embedded PGlite) is compiled by the baseline compiler alone. Set by the
 * launcher (`run`), not on the command line, where V8 would refuse the code cache of Node's own modules;
 * V8 reads these three as it goes, not only at start.
 */
const V8_FLAGS = ["--semi-space-growth-factor=1", "--heap-growing-percent=10", "--liftoff-only"]

/**
 * @param {{ app: string, entry: string }} options  paths relative to the repository root: the app's
 *   folder and its entry file inside it, which exports a `start` that starts the app. What the bundle is
 *   built from is what esbuild read.
 */
export const launch = async ({ app, entry }) => {
  // Before the build: pnpm may be stopped while it runs.
  if (process.env.npm_lifecycle_script !== undefined) stopWithParent()
  const { start } = run(await bundled({ pkg: app, entry }), { flags: V8_FLAGS })
  start()
}
