import * as fs from "node:fs"
import * as path from "node:path"
import { OpenApi } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Filter } from "@ground-truth/core"
import { Api } from "../src/Api.js"
import * as Parameters from "../src/Parameters.js"

const root = path.join(import.meta.dirname, "..", "..", "..")

describe("the parameter table", () => {
  it("describes every parameter core's parser reads, and only those", () => {
    expect(Object.keys(Parameters.table)).toEqual([...Filter.Parameter.literals])
  })

  it("is what the OpenAPI document says of each export parameter, spelled as a query says it", () => {
    const spec = OpenApi.fromApi(Api)
    const exported = spec.paths["/api/v1/ground-truth/export"].get?.parameters ?? []
    for (const name of Filter.Parameter.literals) {
      const declared = exported.find((p) => p.name === name && p.in === "query")
      expect(declared?.description, name).toBe(Parameters.table[name].meaning(Parameters.http))
    }
    // The spellings differ where a meaning names another parameter.
    expect(Parameters.table.split.meaning(Parameters.http)).toContain("(split_by=letter, the default")
    expect(Parameters.table.split.meaning(Parameters.cli)).toContain("(--split-by letter, the default")
  })

  it("is the table docs/cli.md shows", () => {
    const doc = fs.readFileSync(path.join(root, "docs", "cli.md"), "utf8")
    const start = "<!-- parameters: made from packages/protocol/src/Parameters.ts -->\n"
    const shown = doc.slice(doc.indexOf(start) + start.length, doc.indexOf("\n<!-- /parameters -->"))
    expect(doc).toContain(start)
    expect(shown).toBe(Parameters.markdown())
  })
})
