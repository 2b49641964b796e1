/**
 * The ground-truth HTTP protocol, shared by the server (which implements it) and its clients (`sync
 * --url`): the `HttpApi` declaration, the headers it names, and the `/changes` body with the law an
 * increment keeps.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Api from "./Api.js"
/** @since 0.1.0 */
export * as Changes from "./Changes.js"
/** @since 0.1.0 */
export * as Headers from "./Headers.js"
/** @since 0.1.0 */
export * as Parameters from "./Parameters.js"
