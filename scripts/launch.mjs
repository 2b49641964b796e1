// Runs an app from an esbuild bundle of its TypeScript sources: plain node starts a bundle in ~0.3 s,
// where loading the sources through a TypeScript loader takes ~1.7 s. The bundle is rebuilt first
// whenever it may be stale, so the command always runs the code in the tree, and run with V8's code
// cache (scripts/bundle.cjs).
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { constants, PerformanceObserver } from "node:perf_hooks"
import * as v8 from "node:v8"

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
 * (a 1 MB semi-space) until the process does bulk work (`growOnceForBulkWork`), the old one is collected
 * before it grows by a tenth, and WebAssembly (the embedded PGlite) is compiled by the baseline compiler alone. Set by the
 * launcher (`run`), not on the command line, where V8 would refuse the code cache of Node's own modules;
 * V8 reads these three as it goes, not only at start.
 */
const V8_FLAGS = ["--semi-space-growth-factor=1", "--heap-growing-percent=10", "--liftoff-only"]

/** Young-generation collections after which the process is doing bulk work (a start takes ~20). */
const BULK_SCAVENGES = 50
/** How much the semi-space grows, once, for bulk work: 1 MB to 4 MB. */
const BULK_GROWTH = 4

/**
 * Lets the young generation grow once, to 4 MB semi-spaces, when the process does bulk work (docs/
 * performance.md, "Memory"). At 1 MB, an export's rows, received a batch ahead, wait for their turn across
 * many collections, are promoted and collected again: half of an export's garbage collection at 100k jobs,
 * for 6 MB of memory. A start, a `--help`, a small command stay at 1 MB. V8 reads the growth factor as it
 * grows the space (`--max-semi-space-size` it reads only at start): 4 for one growth, then 1 again.
 */
const growOnceForBulkWork = () => {
  let scavenges = 0
  const newSpace = () =>
    v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0
  let before = 0
  const observer = new PerformanceObserver((list) => {
    if (before === 0) {
      for (const entry of list.getEntries()) {
        if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++
      }
      if (scavenges < BULK_SCAVENGES) return
      before = newSpace()
      v8.setFlagsFromString(`--semi-space-growth-factor=${BULK_GROWTH}`)
    } else if (newSpace() > before) {
      v8.setFlagsFromString("--semi-space-growth-factor=1")
      observer.disconnect()
    }
  })
  observer.observe({ entryTypes: ["gc"] })
}

/**
 * @param {{ app: string, entry: string }} options  paths relative to the repository root: the app's
 *   folder and its entry file inside it, which exports a `start` that starts the app. What the bundle is
 *   built from is what esbuild read.
 */
export const launch = async ({ app, entry }) => {
  // Before the build: pnpm may be stopped while it runs.
  if (process.env.npm_lifecycle_script !== undefined) stopWithParent()
  const { start } = run(await bundled({ pkg: app, entry }), { flags: V8_FLAGS })
  growOnceForBulkWork()
  start()
}
