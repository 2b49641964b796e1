/**
 * Rows aligned by content (contract §14): the elements of a reference array and of a predicted one
 * paired one to one, exactly as many pairs as the shorter has elements, to maximize the equal leaves
 * of the pairs; among equal totals, the smallest sum of |reference index − predicted index|; then the
 * lexicographically smallest list of the predicted index of each reference element, in reference order
 * (an unpaired one after every index).
 *
 * The first two criteria are one integer cost a pair, `−equal × A + |i − j|` with `A` above any sum of
 * distances, minimized by the Hungarian method (Kuhn–Munkres with potentials) on the rectangle, the
 * shorter side as rows: O(rows² × columns). The third is settled reference element by reference element:
 * a smaller index is tried only on an edge tight under the first solution's potentials (an edge that is
 * not can be in no optimal pairing), by solving again with it and the choices before it fixed; with
 * distinct rows that is never, so one solve is the rule.
 */

/**
 * The pairing of `rows` rows with `columns` columns (rows ≤ columns) of least total cost (`cost`, row by
 * row; `Infinity` for a pair not allowed): each row's column, the total, and the potentials (`u` of the
 * rows, `v` of the columns, 1-based: `cost ≥ u + v`, equal on the pairs); `undefined` when no pairing is
 * allowed.
 */
const hungarian = (rows: number, columns: number, cost: Float64Array) => {
  // 1-based, 0 the virtual column of the method.
  const u = new Float64Array(rows + 1)
  const v = new Float64Array(columns + 1)
  const owner = new Int32Array(columns + 1)
  const way = new Int32Array(columns + 1)
  const least = new Float64Array(columns + 1)
  const used = new Uint8Array(columns + 1)
  for (let row = 1; row <= rows; row++) {
    owner[0] = row
    let j0 = 0
    least.fill(Number.POSITIVE_INFINITY)
    used.fill(0)
    do {
      used[j0] = 1
      const i0 = owner[j0]!
      let delta = Number.POSITIVE_INFINITY
      let j1 = 0
      for (let j = 1; j <= columns; j++) {
        if (used[j]) continue
        const reduced = cost[(i0 - 1) * columns + j - 1]! - u[i0]! - v[j]!
        if (reduced < least[j]!) {
          least[j] = reduced
          way[j] = j0
        }
        if (least[j]! < delta) {
          delta = least[j]!
          j1 = j
        }
      }
      // No column left that the row may take: the constraints leave no pairing.
      if (delta === Number.POSITIVE_INFINITY) return undefined
      for (let j = 0; j <= columns; j++) {
        if (used[j]) {
          u[owner[j]!] += delta
          v[j] -= delta
        } else least[j] -= delta
      }
      j0 = j1
    } while (owner[j0] !== 0)
    do {
      const j1 = way[j0]!
      owner[j0] = owner[j1]!
      j0 = j1
    } while (j0 !== 0)
  }
  const columnOf = new Int32Array(rows)
  let total = 0
  for (let j = 1; j <= columns; j++) {
    if (owner[j] !== 0) {
      columnOf[owner[j]! - 1] = j - 1
      total += cost[(owner[j] - 1) * columns + j - 1]!
    }
  }
  return { columnOf, total, u, v }
}

/**
 * The predicted index paired with each of `n` reference elements (`undefined`: unpaired), given `equal`,
 * the equal leaves of reference element `i` and predicted element `j`, for `m` predicted elements.
 *
 * @internal
 */
export const align = (
  n: number,
  m: number,
  equal: (i: number, j: number) => number
): Array<number | undefined> => {
  const pairs = Math.min(n, m)
  const paired: Array<number | undefined> = new Array(n).fill(undefined)
  if (pairs === 0) return paired
  const eq: Array<Float64Array> = []
  for (let i = 0; i < n; i++) {
    const row = new Float64Array(m)
    for (let j = 0; j < m; j++) row[j] = equal(i, j)
    eq.push(row)
  }
  // Above any sum of distances: an equal leaf outweighs every difference in distance.
  const A = n * m + 1
  const pairCost = (i: number, j: number): number => -eq[i][j]! * A + Math.abs(i - j)
  // The shorter side as rows.
  const byReference = n <= m
  const [rows, columns] = byReference ? [n, m] : [m, n]
  /** A reference element's fixed choice: its predicted index, or -1 for unpaired. */
  const fixed = new Map<number, number>()
  const taken = new Set<number>()
  const solve = () => {
    // A fixed pair binds both ends: with the predictions as rows (more reference elements than
    // predicted ones), a reference element is a column the method may leave out, so its prediction's
    // row must have no other column, or "fixed" would only forbid the others and the pair be dropped.
    const ownerOf = new Map<number, number>()
    for (const [i, j] of fixed) if (j >= 0) ownerOf.set(j, i)
    const cost = new Float64Array(rows * columns)
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const [i, j] = byReference ? [r, c] : [c, r]
        const f = fixed.get(i)
        const owner = ownerOf.get(j)
        const allowed = (f === undefined ? !taken.has(j) : f === j) && (owner === undefined || owner === i)
        cost[r * columns + c] = allowed ? pairCost(i, j) : Number.POSITIVE_INFINITY
      }
    }
    return hungarian(rows, columns, cost)
  }
  const first = solve()!
  let best = first
  const read = (solution: typeof first): Array<number | undefined> => {
    const out: Array<number | undefined> = new Array(n).fill(undefined)
    solution.columnOf.forEach((column, row) => {
      if (byReference) out[row] = column
      else out[column] = row
    })
    return out
  }
  let current = read(best)
  // Tight under the first solution's potentials: the only pairs an optimal pairing can hold.
  const tight = (i: number, j: number): boolean =>
    pairCost(i, j) === (byReference ? first.u[i + 1]! + first.v[j + 1]! : first.u[j + 1]! + first.v[i + 1]!)
  for (let i = 0; i < n; i++) {
    const now = current[i]
    for (let j = 0; j < (now ?? m); j++) {
      if (taken.has(j) || !tight(i, j)) continue
      fixed.set(i, j)
      const tried = solve()
      if (tried !== undefined && tried.total === first.total) {
        best = tried
        current = read(best)
        break
      }
      fixed.delete(i)
    }
    const chosen = current[i]
    fixed.set(i, chosen ?? -1)
    if (chosen !== undefined) taken.add(chosen)
  }
  return current
}
