/**
 * Data fidelity through the CLI: generated jobs full of values a lossy path would damage go into the
 * database in random JSON and SQL spellings; the file and standard output must hold exactly the lines
 * the contract gives for them (built independently, in `@ground-truth/golden`'s `Fidelity`).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Fidelity } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

const data = Fidelity.make(300, 2026)
const expected = Buffer.from(data.lines.join(""))

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(Fidelity.load(data)).pipe(Layer.provideMerge(target.layer)), {
    timeout: 120_000
  })(`data fidelity through the CLI on ${target.name}`, (it) => {
    it.effect(
      "every value survives byte for byte to the file and to standard output",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-")), "corpus.jsonl")
          const file = yield* run(["export", "--approved-only", "false", "--out", out], { DATABASE_URL: url })
          expect(file.code).toBe(0)
          const stdout = yield* run(["export", "--approved-only", "false"], { DATABASE_URL: url })
          expect(stdout.code).toBe(0)
          // Line by line first, for a readable failure; then the whole bytes.
          expect(fs.readFileSync(out, "utf8").split(/(?<=\n)/)).toEqual(data.lines)
          expect(fs.readFileSync(out).equals(expected)).toBe(true)
          expect(stdout.stdout.equals(expected)).toBe(true)
          console.log(`${target.name}, CLI file and stdout: ${Fidelity.summary(data.lines)}, byte for byte`)
          // The letters' texts, as a last column.
          const texts = yield* run(["export", "--approved-only", "false", "--input", "text"], {
            DATABASE_URL: url
          })
          expect(texts.code).toBe(0)
          expect(texts.stdout.toString("utf8").split(/(?<=\n)/)).toEqual(data.textLines)
          expect(texts.stdout.equals(Buffer.from(data.textLines.join("")))).toBe(true)
        }),
      120_000
    )
  })
}
