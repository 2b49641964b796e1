/**
 * A file's lines by a key each (a predictions file's job ids), kept compact: every key's UTF-8 bytes in
 * one buffer and every line's start in a typed array, ~60 bytes a line outside V8's heap. A `Map` of
 * strings to objects took ~145 bytes a line on the heap, and the garbage collector's headroom grew with
 * it: a 100k-line file raised eval's peak RSS by ~50 MB. Keys are sorted once (`seal`), then found by
 * binary search.
 */

/** A typed array at least `need` long: `a` itself, or a copy twice as large. */
const grow = <A extends Uint8Array | Float64Array>(a: A, need: number, make: (n: number) => A): A => {
  if (need <= a.length) return a
  const bigger = make(Math.max(need, a.length * 2))
  bigger.set(a)
  return bigger
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Where a key's line is: its number (1-based) and its bytes in the file. */
export interface Located {
  readonly line: number
  readonly start: number
  readonly end: number
}

export class LineIndex {
  private keys = new Uint8Array(1 << 12)
  /** Key i is `keys[keyAt[i], keyAt[i + 1])`. */
  private keyAt = new Float64Array(1 << 10)
  /** Line i (1-based number i + 1) is `[lineAt[i], lineEnd[i])`. */
  private lineAt = new Float64Array(1 << 10)
  private lineEnd = new Float64Array(1 << 10)
  private count = 0
  /** Line indices by key, then by line: set by `seal`. */
  private order: Uint32Array | undefined

  get lines(): number {
    return this.count
  }

  /** Adds the next line of the file: its key and its bytes. */
  add(key: string, start: number, end: number): void {
    const i = this.count++
    const from = i === 0 ? 0 : this.keyAt[i]!
    const bytes = encoder.encode(key)
    this.keys = grow(this.keys, from + bytes.length, (n) => new Uint8Array(n))
    this.keys.set(bytes, from)
    this.keyAt = grow(this.keyAt, i + 2, (n) => new Float64Array(n))
    this.keyAt[i + 1] = from + bytes.length
    this.lineAt = grow(this.lineAt, i + 1, (n) => new Float64Array(n))
    this.lineEnd = grow(this.lineEnd, i + 1, (n) => new Float64Array(n))
    this.lineAt[i] = start
    this.lineEnd[i] = end
    this.order = undefined
  }

  /** Key i against the bytes `k[from, to)`, in byte order (a prefix first). */
  private compare(i: number, k: Uint8Array, from: number, to: number): number {
    const keys = this.keys
    const start = this.keyAt[i]!
    const end = this.keyAt[i + 1]!
    for (let x = start, y = from; x < end && y < to; x++, y++) {
      const d = keys[x]! - k[y]!
      if (d !== 0) return d
    }
    return end - start - (to - from)
  }

  /** Keys i and j in byte order. */
  private compareKeys(i: number, j: number): number {
    return this.compare(i, this.keys, this.keyAt[j]!, this.keyAt[j + 1]!)
  }

  /** Sorts the keys (a key's lines in file order): then `find` and `repeated` answer. */
  seal(): void {
    if (this.order !== undefined) return
    const order = new Uint32Array(this.count)
    for (let i = 0; i < order.length; i++) order[i] = i
    order.sort((a, b) => this.compareKeys(a, b) || a - b)
    this.order = order
  }

  /**
   * The first line (in the file) whose key an earlier line has, with that earlier line's number: what a
   * reader going line by line would have stopped at.
   */
  repeated(): { readonly key: string; readonly line: number; readonly also: number } | undefined {
    this.seal()
    const order = this.order!
    let found: { key: string; line: number; also: number } | undefined
    for (let g = 0; g < order.length; ) {
      const first = order[g]!
      let next = g + 1
      while (next < order.length && this.compareKeys(first, order[next]!) === 0) next++
      // Within a run of one key, lines are in file order: the second is where it repeats.
      if (next > g + 1 && (found === undefined || order[g + 1]! + 1 < found.line))
        found = { key: this.keyOf(first), line: order[g + 1]! + 1, also: first + 1 }
      g = next
    }
    return found
  }

  private keyOf(i: number): string {
    return decoder.decode(this.keys.subarray(this.keyAt[i]!, this.keyAt[i + 1]!))
  }

  /** The line of `key`, once sealed (its first, if keys repeat). */
  find(key: string): Located | undefined {
    this.seal()
    const order = this.order!
    const k = encoder.encode(key)
    let lo = 0
    let hi = order.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compare(order[mid]!, k, 0, k.length) < 0) lo = mid + 1
      else hi = mid
    }
    if (lo === order.length) return undefined
    const i = order[lo]!
    return this.compare(i, k, 0, k.length) === 0
      ? { line: i + 1, start: this.lineAt[i]!, end: this.lineEnd[i]! }
      : undefined
  }
}
