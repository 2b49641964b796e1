/**
 * `@ground-truth/golden`: the fixture database and hand-written expected bytes that every front end's
 * tests compare against, and the documentation's blocks they run as written.
 *
 * @since 0.1.0
 */

export * as Fidelity from "./Fidelity.js"
export * as Golden from "./Golden.js"
export * as Readme from "./Readme.js"
