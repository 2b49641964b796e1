// An export worker's thread (packages/db, ExportWorkers): runs the worker's bundle, named in its
// workerData, as the launcher runs an app's: with V8's code cache (scripts/bundle.cjs).
"use strict"
const { workerData } = require("node:worker_threads")
require("./bundle.cjs").run(workerData.bundle)
