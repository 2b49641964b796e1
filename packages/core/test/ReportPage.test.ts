import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { Filter, ReportPage, Stats, Timestamp } from "../src/index.js"
import type { Job } from "../src/Sample.js"

const job = (id: string, satuan: string | null, approved: boolean, at: string): Job => ({
  id,
  filename: "x.pdf",
  sourceKind: "pdf",
  approved,
  reviewedBy: null,
  reviewedAt: null,
  createdAt: Timestamp.make(Date.parse(at) / 1000),
  result: undefined,
  reviewFlags: [],
  confidence: null,
  events: [],
  satuan
})

describe("ReportPage", () => {
  const jobs = [
    job("a", '<script>alert("x")</script> & Co', true, "2025-06-04T10:00:00Z"),
    job("b", null, false, "2025-06-08T23:59:59Z"),
    job("c", "Polres Bogor", true, "2025-06-09T00:00:00Z"),
    job("d", "Polres Bogor", false, "2025-06-25T12:00:00Z")
  ]

  it("puts jobs in ISO weeks (Monday, UTC) by sample time", () => {
    expect(Stats.weeksOf(jobs, Filter.defaults)).toEqual([
      { week: "2025-06-02", jobs: 2, approved: 1 },
      { week: "2025-06-09", jobs: 1, approved: 1 },
      { week: "2025-06-23", jobs: 1, approved: 0 }
    ])
  })

  it("escapes every text it shows, and fetches nothing", () => {
    const page = ReportPage.html({
      report: Stats.fromJobs(jobs, Filter.defaults),
      weeks: Stats.weeksOf(jobs, Filter.defaults),
      window: { since: Option.none(), until: Option.none() }
    })
    expect(page).not.toContain("<script")
    expect(page).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; Co")
    expect(page).not.toMatch(/\b(src|href)=/)
    expect(page.startsWith("<!DOCTYPE html>\n")).toBe(true)
    // A week without jobs is a column of zero, not a gap that time skips over.
    expect(page).toContain("<title>2025-06-16: 0 jobs</title>")
    // No corrections: that chart is a sentence instead.
    expect(page.match(/<svg /g)).toHaveLength(3)
    expect(page).toContain("No corrections in this window.")
  })
})
