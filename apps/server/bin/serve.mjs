#!/usr/bin/env node
// `pnpm serve`: runs the server's bundle, rebuilt when its sources change (scripts/launch.mjs).
import { launch } from "../../../scripts/launch.mjs"

await launch({
  app: "apps/server",
  entry: "src/main.ts",
  sources: ["apps/server/src", "packages/core/src", "packages/db/src"]
})
