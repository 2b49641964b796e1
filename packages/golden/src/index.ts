/**
 * `@ground-truth/golden`: the fixture database and hand-written expected bytes that every front end's
 * tests compare against.
 *
 * @since 0.1.0
 */

export * as Fidelity from "./Fidelity.js"
export * as Golden from "./Golden.js"
