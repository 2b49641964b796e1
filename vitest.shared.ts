import type { ViteUserConfig } from "vitest/config"

// Every package reports to the console and to build/vitest-report.json, which .ci/run sums up.
// CI is a busy 2-core machine: a test that spawns node, python or psql, or runs a thousand property
// cases, can take several seconds there where it takes one here, so no test runs on vitest's 5 s
// default. A test that hangs still fails, after two minutes.
//
// A package's files run one after another in the same process (`isolate: false`), not each in a fresh
// one: a fresh process loads Effect, the sources and PGlite's WebAssembly again for every file, which
// was a third of the database package's CPU. No test sets the environment, mocks a module or changes
// directory; each builds its own layers, databases and processes, and closes them.
export const shared: ViteUserConfig = {
  test: {
    include: ["test/**/*.test.ts"],
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ["default", ["json", { outputFile: "build/vitest-report.json" }]]
  }
}
