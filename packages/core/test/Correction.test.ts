import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { Correction, FieldPath, Json } from "../src/index.js"

const j = (text: string): Json.Json => Either.getOrThrow(Json.parse(text))
const path = (text: string) => Either.getOrThrow(FieldPath.parse(text))
const apply = (
  result: string | undefined,
  p: string,
  oldValue: string | undefined,
  newValue: string | undefined
) => {
  const c = Correction.fromValues(
    path(p),
    oldValue === undefined ? undefined : j(oldValue),
    newValue === undefined ? undefined : j(newValue)
  )
  if (c === undefined) throw new Error("both absent")
  return Correction.apply(result === undefined ? undefined : j(result), c)
}
const show = (r: Either.Either<Correction.Slot, Correction.NotApplicable>) =>
  Either.match(r, {
    onLeft: (e) => `! ${e.reason}`,
    onRight: (v) => (v === undefined ? "absent" : Json.stringify(v))
  })

describe("apply (contract §3, forward)", () => {
  it.each([
    // replace
    ['{"a":1}', "a", "1", "2", '{"a":2}'],
    ['{"a":1.5}', "a", "1.50", "2", '{"a":2}'],
    ['{"a":[1,{"b":2}]}', "a[1].b", "2", "null", '{"a":[1,{"b":null}]}'],
    ["[1]", "", "[1]", '"x"', '"x"'],
    ['{"a":1}', "a", "2", "3", "! value_differs"],
    ['{"a":1}', "b", "1", "3", "! path_absent"],
    // insert
    ['{"a":1}', "b", undefined, "2", '{"a":1,"b":2}'],
    ["[1,3]", "[1]", undefined, "2", "[1,2,3]"],
    ["[1,3]", "[2]", undefined, "4", "[1,3,4]"],
    ["[1,3]", "[0]", undefined, "0", "[0,1,3]"],
    [undefined, "", undefined, "{}", "{}"],
    ['{"a":1}', "a", undefined, "2", "! path_present"],
    ["null", "", undefined, "{}", "! path_present"],
    ["[1,3]", "[3]", undefined, "4", "! index_out_of_range"],
    ['{"a":1}', "b.c", undefined, "2", "! parent_absent"],
    [undefined, "a", undefined, "2", "! parent_absent"],
    ['{"a":1}', "a.c", undefined, "2", "! parent_mismatch"],
    ['{"a":{}}', "a[0]", undefined, "2", "! parent_mismatch"],
    // remove
    ['{"a":1,"b":2}', "a", "1", undefined, '{"b":2}'],
    ["[1,2,3]", "[1]", "2", undefined, "[1,3]"],
    ['{"x":null}', "x", "null", undefined, "{}"],
    ['{"x":null}', "", '{"x":null}', undefined, "absent"],
    ['{"x":1}', "x", "null", undefined, "! value_differs"],
    ["[1]", "[1]", "1", undefined, "! path_absent"],
    [undefined, "", "null", undefined, "! path_absent"]
  ])("%s with %j: %s → %s gives %s", (result, p, oldValue, newValue, expected) => {
    expect(show(apply(result, p, oldValue, newValue))).toBe(expected)
  })

  it("copies the containers along the path and leaves the input untouched", () => {
    const before = j('{"a":{"b":[1,2]},"c":{"d":1}}')
    const c = Correction.fromValues(path("a.b[0]"), j("1"), j("9"))!
    const after = Either.getOrThrow(Correction.apply(before, c)) as Json.JsonObject
    expect(Json.stringify(before)).toBe('{"a":{"b":[1,2]},"c":{"d":1}}')
    expect(Json.stringify(after)).toBe('{"a":{"b":[9,2]},"c":{"d":1}}')
    // untouched subtrees are shared, not copied
    expect(after.get("c")).toBe((before as Json.JsonObject).get("c"))
  })

  it("has no meaning for an event with both values absent", () => {
    expect(Correction.fromValues(path("a"), undefined, undefined)).toBeUndefined()
  })

  it("inverts each kind", () => {
    const p = path("a")
    expect(Correction.inverse({ _tag: "Replace", path: p, oldValue: "1", newValue: null })).toEqual({
      _tag: "Replace",
      path: p,
      oldValue: null,
      newValue: "1"
    })
    expect(Correction.inverse({ _tag: "Insert", path: p, newValue: "x" })).toEqual({
      _tag: "Remove",
      path: p,
      oldValue: "x"
    })
    expect(Correction.inverse({ _tag: "Remove", path: p, oldValue: "x" })).toEqual({
      _tag: "Insert",
      path: p,
      newValue: "x"
    })
  })
})
