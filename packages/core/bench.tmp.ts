import { Either } from "effect"
import { Eval, Json } from "./src/index.js"

const zeros = Array.from({ length: 500000 }, () => "0")
  .join(",")
  .slice(0, 999999 - 60)
const line = `{"job_id":"a","result":{"header":{"lembar":[${zeros}]}}}`
const final = Json.object([["header", Json.object([["lembar", new Json.JsonNumber("1")]])]])
for (let r = 0; r < 6; r++) {
  let t = performance.now()
  const v = Either.getOrThrow(Json.parse(line))
  const tParse = performance.now() - t
  t = performance.now()
  const p = Either.getOrThrow(Eval.parseLine(line, 1))
  const tLine = performance.now() - t
  t = performance.now()
  Eval.add(Eval.empty(), { initial: final, final }, p.predicted, 1)
  const tAdd = performance.now() - t
  console.log(
    `parse ${tParse.toFixed(0)} ms; parseLine (parse+check) ${tLine.toFixed(0)} ms; add ${tAdd.toFixed(0)} ms; rss ${(process.memoryUsage.rss() / 1e6).toFixed(0)} MB`,
    v !== null
  )
}
