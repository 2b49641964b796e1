import type { ViteUserConfig } from "vitest/config"

// Every package reports to the console and to build/vitest-report.json, which .ci/run sums up.
// CI is a busy 2-core machine: a test that spawns node, python or psql, or runs a thousand property
// cases, can take several seconds there where it takes one here, so no test runs on vitest's 5 s
// default. A test that hangs still fails, after two minutes.
export const shared: ViteUserConfig = {
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ["default", ["json", { outputFile: "build/vitest-report.json" }]]
  }
}
