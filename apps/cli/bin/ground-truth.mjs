#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10 --liftoff-only
// The heap flags keep peak RSS near 120 MB instead of 220-280 MB at the same speed, and --liftoff-only
// (WebAssembly, that is the embedded PGlite, compiled by V8's baseline compiler alone) ~70 MB more there
// (README, "Memory"). V8 takes them only on its command line: `pnpm ground-truth` and `pnpm serve` run
// this file itself.
// The `ground-truth` command: runs the CLI's bundle, rebuilt when anything it was built from changes (scripts/launch.mjs).
import { launch } from "../../../scripts/launch.mjs"

await launch({
  app: "apps/cli",
  entry: "src/bin.ts"
})
