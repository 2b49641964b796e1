import type { ViteUserConfig } from "vitest/config"

// Every package reports to the console and to build/vitest-report.json, which .ci/run sums up.
export const shared: ViteUserConfig = {
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "build/vitest-report.json" }]]
  }
}
