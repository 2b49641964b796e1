#!/usr/bin/env node
// The `ground-truth` command: runs the CLI's bundle, rebuilt when anything it was built from changes (scripts/launch.mjs).
import { launch } from "../../../scripts/launch.mjs"

await launch({
  app: "apps/cli",
  entry: "src/bin.ts"
})
