/**
 * The README's marked blocks: the commands, programs and bodies that tests run or send as written, so
 * the README cannot say what the code does not do.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const readme = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "README.md")

/**
 * The fenced block after the README's `<!-- MARK` comment, as written (ending in a newline), or
 * `undefined` when no such mark is there.
 *
 * @since 0.1.0
 */
export const block = (mark: string): string | undefined => {
  const text = fs.readFileSync(readme, "utf8")
  const at = text.indexOf(`<!-- ${mark}`)
  if (at < 0) return undefined
  const start = text.indexOf("\n", text.indexOf("```", at)) + 1
  return text.slice(start, text.indexOf("\n```", start) + 1)
}
