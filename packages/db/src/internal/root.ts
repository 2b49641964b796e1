import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The repository's root: the folder above this module (its source, or the app bundle it was built
 * into) that holds `pnpm-workspace.yaml`; none outside a checkout.
 */
export const repositoryRoot = (): string | undefined => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "pnpm-workspace.yaml"))) return dir
    if (path.dirname(dir) === dir) return undefined
  }
}
