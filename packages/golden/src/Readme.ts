/**
 * The documentation's marked blocks (the README and `docs/`): the commands, programs and bodies that
 * tests run or send as written, so the documentation cannot say what the code does not do.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

/** The README, then each page of `docs/` in name order. */
const pages = (): Array<string> => {
  const docs = path.join(root, "docs")
  return [
    path.join(root, "README.md"),
    ...fs
      .readdirSync(docs)
      .filter((name) => name.endsWith(".md"))
      .sort()
      .map((name) => path.join(docs, name))
  ]
}

/**
 * The fenced block after the `<!-- MARK` comment in the README or a page of `docs/`, as written (ending
 * in a newline), or `undefined` when no page has that mark.
 *
 * @since 0.1.0
 */
export const block = (mark: string): string | undefined => {
  for (const page of pages()) {
    const text = fs.readFileSync(page, "utf8")
    const at = text.indexOf(`<!-- ${mark}`)
    if (at < 0) continue
    const start = text.indexOf("\n", text.indexOf("```", at)) + 1
    return text.slice(start, text.indexOf("\n```", start) + 1)
  }
  return undefined
}
