/**
 * Contract §14's pairing of rows, by brute force over every pairing: the tests' independent model of
 * `internal/align.ts`.
 */

/** Lexicographic order of two lists of the same length. */
const before = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k]! < b[k]!
  return false
}

/**
 * Contract §14's pairing by brute force: every pairing of min(n, m) pairs, the best by the three rules in
 * their order (most equal leaves; least sum of distances; the lexicographically smallest list of each
 * reference element's predicted index, an unpaired one after every index).
 */
export const brute = (
  n: number,
  m: number,
  eq: ReadonlyArray<ReadonlyArray<number>>
): Array<number | undefined> => {
  let best: { equal: number; distance: number; list: Array<number> } | undefined
  const list: Array<number> = new Array(n).fill(Number.POSITIVE_INFINITY)
  const used = new Set<number>()
  const pairs = Math.min(n, m)
  const visit = (i: number, count: number) => {
    if (i === n) {
      if (count !== pairs) return
      let equal = 0
      let distance = 0
      list.forEach((j, k) => {
        if (j !== Number.POSITIVE_INFINITY) {
          equal += eq[k][j]!
          distance += Math.abs(k - j)
        }
      })
      const better =
        best === undefined ||
        equal > best.equal ||
        (equal === best.equal &&
          (distance < best.distance || (distance === best.distance && before(list, best.list))))
      if (better) best = { equal, distance, list: [...list] }
      return
    }
    for (let j = 0; j < m; j++) {
      if (used.has(j)) continue
      used.add(j)
      list[i] = j
      visit(i + 1, count + 1)
      used.delete(j)
    }
    list[i] = Number.POSITIVE_INFINITY
    visit(i + 1, count)
  }
  visit(0, 0)
  return best!.list.map((j) => (j === Number.POSITIVE_INFINITY ? undefined : j))
}
