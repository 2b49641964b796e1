import { defineConfig } from "vitest/config"
import { shared } from "../../vitest.shared.js"

// This package's files spend most of their time waiting on the processes they start
// (the CLI, the server, python, psql), so two run at a time: vitest's default on CI's two cores is one.
export default defineConfig({ ...shared, test: { ...shared.test, maxWorkers: 2, minWorkers: 1 } })
