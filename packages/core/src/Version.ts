/**
 * The version of ground-truth, shown by `ground-truth --version`, the OpenAPI document and every manifest
 * (`generator`). It is the root `package.json`'s `version`: a test fails when the two differ, so a release
 * changes both.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export const version = "0.1.0"

/** What wrote a manifest: `ground-truth 0.1.0`. @since 0.1.0 */
export const generator = `ground-truth ${version}`
