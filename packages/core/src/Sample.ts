/**
 * The data of one training sample (contract §5), as read from `jobs` and `job_corrections`.
 *
 * @since 0.1.0
 */
import type { Slot } from "./Correction.js"
import type { Timestamp } from "./Timestamp.js"

/**
 * One row of `job_corrections`. `oldValue`/`newValue` are `undefined` for SQL NULL (absent) and `null`
 * for JSON `null`.
 *
 * @since 0.1.0
 */
export interface CorrectionEvent {
  /** `job_corrections.id` as decimal text (a bigint). */
  readonly id: string
  readonly fieldPath: string
  readonly oldValue: Slot
  readonly newValue: Slot
  readonly correctedBy: string
  readonly reason: string | null
  readonly correctedAt: Timestamp
}

/**
 * One row of `jobs` with its events in chronological order (`corrected_at`, then `id`).
 *
 * @since 0.1.0
 */
export interface Job {
  readonly id: string
  readonly filename: string
  readonly sourceKind: string
  readonly approved: boolean
  readonly reviewedBy: string | null
  readonly reviewedAt: Timestamp | null
  readonly createdAt: Timestamp
  /** `jobs.result`; `undefined` when SQL NULL. */
  readonly result: Slot
  /** `jobs.review_flags`; `null` for a NULL element, exported as JSON `null`. */
  readonly reviewFlags: ReadonlyArray<string | null>
  readonly confidence: number | null
  readonly events: ReadonlyArray<CorrectionEvent>
  /** `jobs.satuan`, for stats and eval's slices (the sample's line does not carry it); absent counts as unknown. */
  readonly satuan?: string | null
  /** The letter's OCR text (`job_texts.ocr_text`); absent or `null`: none kept. */
  readonly ocrText?: string | null
}

/**
 * A job with the pipeline's original output rebuilt by replay.
 *
 * @since 0.1.0
 */
export interface Sample extends Job {
  readonly initialResult: Slot
}
