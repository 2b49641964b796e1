/**
 * `@ground-truth/db`: the database layers (PostgreSQL or the embedded default), the schema migrations
 * and the demo data, shared by the CLI and the server.
 *
 * @since 0.1.0
 */
export * as Configuration from "./Configuration.js"
export * as Database from "./Database.js"
export * as Demo from "./Demo.js"
export * as Embedded from "./Embedded.js"
export * as ExportWorkers from "./ExportWorkers.js"
export * as Migrations from "./Migrations.js"
export * as SqlFailure from "./SqlFailure.js"
export * as TestCluster from "./TestCluster.js"
export * as TestDatabase from "./TestDatabase.js"
export * as TestDisk from "./TestDisk.js"
