/**
 * The seeded generator of everything random that must come out the same every time: the resamples of
 * eval's intervals, and the demo data (`@ground-truth/db`).
 *
 * @since 0.1.0
 */

/**
 * mulberry32: a generator of numbers in [0, 1) from a 32-bit seed. Small, fast, good enough for
 * reproducible resamples and demo data, and written down in a few lines, so that any language can draw
 * the same numbers (docs/evaluation.md, "Intervals").
 *
 * @since 0.1.0
 */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
