#!/usr/bin/env node
// The `ground-truth` command: runs the CLI's bundle, rebuilt when its sources change (scripts/launch.mjs).
import { launch } from "../../../scripts/launch.mjs"

await launch({
  app: "apps/cli",
  entry: "src/bin.ts",
  sources: ["apps/cli/src", "packages/core/src", "packages/db/src"]
})
