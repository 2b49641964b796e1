#!/usr/bin/env node
// `pnpm serve`: runs the server's bundle, rebuilt when anything it was built from changes (scripts/launch.mjs).
import { launch } from "../../../scripts/launch.mjs"

await launch({
  app: "apps/server",
  entry: "src/main.ts"
})
