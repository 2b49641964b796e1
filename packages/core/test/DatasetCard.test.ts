/**
 * The dataset card says what the folder holds, truthfully (issue 30): approved jobs only, or not; the
 * filters as they were; the license, or that none was set and how to set one; and that it holds personal
 * data. Its front matter carries the Hub's metadata. (`apps/cli/test/Dataset.test.ts` loads a real
 * folder's card with `datasets` and `huggingface_hub`.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as DatasetCard from "../src/DatasetCard.js"
import * as Manifest from "../src/Manifest.js"

const manifest = (
  filters: Partial<(typeof Manifest.DatasetManifest.Type)["filters"]>,
  more: Partial<typeof Manifest.DatasetManifest.Type> = {}
) =>
  Manifest.DatasetManifest.make({
    contract_version: "1",
    generator: "ground-truth 0.1.0",
    format: "messages",
    filters: { approved_only: true, has_corrections: null, since: null, until: null, ...filters },
    split_ratios: [80, 10, 10],
    split_seed: "",
    snapshot_time: "2026-12-06T19:00:00Z",
    cursor: "gt2.x",
    files: [
      Manifest.SplitFile.make({ split: "train", path: "train.jsonl", rows: 1200, bytes: 10, sha256: "ab" }),
      Manifest.SplitFile.make({ split: "test", path: "test.jsonl", rows: 300, bytes: 5, sha256: "cd" })
    ],
    empty_splits: ["validation"],
    license: null,
    ...more
  })

/** The YAML front matter's lines, and the body after it. */
const parts = (card: string) => {
  const [, front, body] = card.split(/^---$/m)
  return { front: front.trim().split("\n"), body }
}

describe("DatasetCard", () => {
  it("approved only: reviewed and approved extractions, nothing about unapproved jobs", () => {
    const { body } = parts(DatasetCard.render(manifest({})))
    expect(body).toContain("Every job here was approved by a reviewer")
    expect(body).toContain("- `approved_only=true`: only jobs a reviewer approved.")
    expect(body).not.toMatch(/no reviewer approved/)
  })

  it("approved_only=false: says plainly that it includes jobs no reviewer approved, and how to tell", () => {
    const training = parts(DatasetCard.render(manifest({ approved_only: false }))).body
    expect(training).toContain("**This dataset includes jobs no reviewer approved**")
    expect(training).toContain("may still hold OCR and LLM mistakes")
    expect(training).toContain("- `approved_only=false`: every job, approved or not.")
    expect(training).not.toContain("Every job here was approved")
    expect(training).toContain("export with `--approved-only true`")
    // The full sample carries `approved`: the card points at it instead.
    const full = parts(DatasetCard.render(manifest({ approved_only: false }, { format: "hf" }))).body
    expect(full).toContain("The `approved` column tells which is which")
  })

  it("states the other filters as they were", () => {
    const none = parts(DatasetCard.render(manifest({}))).body
    expect(none).toContain("- `has_corrections`: not set; jobs with and without reviewer corrections.")
    expect(none).toContain("- No time window: jobs of any time.")
    const set = parts(
      DatasetCard.render(
        manifest({ has_corrections: true, since: "2025-06-01T00:00:00Z", until: "2025-07-01T00:00:00Z" })
      )
    ).body
    expect(set).toContain("- `has_corrections=true`: only jobs a reviewer corrected at least once")
    expect(set).toContain(
      "- Sample time (`reviewed_at`, else `created_at`) at or after `2025-06-01T00:00:00Z` and before `2025-07-01T00:00:00Z`."
    )
    expect(parts(DatasetCard.render(manifest({ has_corrections: false }))).body).toContain(
      "- `has_corrections=false`: only jobs without any reviewer correction."
    )
  })

  it("front matter: name, language id, license, tags, size, then the splits and features", () => {
    const { front } = parts(DatasetCard.render(manifest({})))
    expect(front.slice(0, 12)).toEqual([
      'pretty_name: "Surat Perintah extractions (ground-truth export)"',
      "language:",
      "- id",
      'license: "other"',
      "tags:",
      "- ocr",
      "- information-extraction",
      "- personal-data",
      "size_categories:",
      "- 1K<n<10K",
      "configs:",
      "- config_name: default"
    ])
    expect(front).toContain("dataset_info:")
    expect(front).not.toContain("task_categories:")
  })

  it("license: unset says other, that none was set and how to set it; set, it is named (quoted)", () => {
    const unset = DatasetCard.render(manifest({}))
    expect(unset).toContain("No license was set for this export")
    expect(unset).toContain("`ground-truth export --dataset DIR --license ID`")
    const set = DatasetCard.render(manifest({}, { license: "cc-by-nc-4.0" }))
    expect(parts(set).front).toContain('license: "cc-by-nc-4.0"')
    expect(set).toContain("`cc-by-nc-4.0`, as set when it was exported")
    expect(set).not.toContain("No license was set")
  })

  it("a personal-data notice: names and NRPs, UU PDP No. 27/2022, not on a public hub, not legal advice", () => {
    for (const format of ["messages", "hf"] as const) {
      const { body } = parts(DatasetCard.render(manifest({}, { format })))
      const notice = body.slice(body.indexOf("## Personal data"))
      expect(notice).toContain("names and NRPs (personnel numbers) of the police personnel")
      expect(notice).toContain("UU PDP, Law No. 27 of 2022")
      expect(notice).toContain("Do not publish it on a public hub")
      expect(notice).toContain("it is not legal advice")
      expect(notice.includes("reviewers' user ids"), format).toBe(format === "hf")
    }
  })

  it("License: short SPDX-like ids only", () => {
    const ok = Schema.is(DatasetCard.License)
    for (const id of ["other", "cc-by-nc-4.0", "Apache-2.0", "GPL-2.0+", "0bsd"])
      expect(ok(id), id).toBe(true)
    for (const id of ["", "cc by", "-x", "mit\n", "a/b", "x".repeat(65), "lisensi:ya"])
      expect(ok(id), id).toBe(false)
  })
})
