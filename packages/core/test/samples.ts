/** Samples for the scoring tests (`Eval`, `Calibration`): only what they read is set. */
import type { Json } from "../src/index.js"
import type { Sample } from "../src/Sample.js"

/** An approved sample with these results (the pipeline's `initial`, the reviewed `final`). */
export const sample = (
  id: string,
  initial: Json.Json,
  final: Json.Json,
  confidence: number | null = null
): Sample => ({
  id,
  filename: "f.pdf",
  sourceKind: "pdf",
  approved: true,
  reviewedBy: null,
  reviewedAt: null,
  createdAt: { seconds: 0, micros: 0 },
  result: final,
  reviewFlags: [],
  confidence,
  events: [],
  initialResult: initial
})
