/**
 * The manifest example of docs/formats.md is a real manifest's shape: the same members in the same order, each
 * value of the same JSON type (issue 30: it lacked `generator`). The training snippets are run by
 * `Loaders.test.ts`.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { readmeBlock, run } from "./cli.js"

/** Each member (nested ones by their path) and its JSON type. */
const shape = (value: unknown, at = ""): Array<string> =>
  value !== null && typeof value === "object" && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => [`${at}${k}`, ...shape(v, `${at}${k}.`)])
    : [`${at.slice(0, -1)}: ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}`]

const target = TestDatabase.targets()[0]
layer(Layer.effectDiscard(Demo.seed({ jobs: 20, seed: 3 })).pipe(Layer.provideMerge(target.layer)), {
  timeout: 120_000
})(`the docs' manifest example on ${target.name}`, (it) => {
  it.effect("its manifest example has the members, order and types of a real manifest", () =>
    Effect.gen(function* () {
      const db = yield* TestDatabase.TestDatabase
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-readme-manifest-"))
      const r = yield* run(
        ["export", "--format", "hf", "--split", "train", "--out", "train.jsonl", "--manifest", "-"],
        { DATABASE_URL: db.url, INIT_CWD: dir }
      )
      expect(r.code, r.stderr).toBe(0)
      const real = JSON.parse(r.stdout.toString("utf8"))
      const example = JSON.parse(readmeBlock("readme-test: manifest"))
      expect(shape(example)).toEqual(shape(real))
      expect(example.generator).toBe(real.generator)
      fs.rmSync(dir, { recursive: true, force: true })
    })
  )
})
