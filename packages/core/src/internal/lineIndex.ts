/**
 * A file's lines by a key each (a predictions file's job ids), kept compact outside V8's heap: every
 * key's UTF-8 bytes in one buffer, every line's place, length and digest in typed arrays, and an
 * open-addressing hash table of line numbers, ~80 bytes a line (a `Map` of strings to objects took ~145
 * on the heap, and the garbage collector's headroom grew with it). Adding and finding a key take
 * constant time: a sorted index took 3 s to sort 700,000 keys, all at once, on the event loop.
 *
 * The table's hash is SHA-256 of the key after a random salt drawn per index: the keys come from a
 * request, and a hash anyone can compute lets a client choose keys that all fall in one bucket, which
 * makes every insertion walk all the others.
 */
import { createHash, randomBytes } from "node:crypto"

/** A typed array at least `need` long: `a` itself, or a copy twice as large. */
const grow = <A extends Uint8Array | Uint32Array | Float64Array>(
  a: A,
  need: number,
  make: (n: number) => A
): A => {
  if (need <= a.length) return a
  const bigger = make(Math.max(need, a.length * 2))
  bigger.set(a)
  return bigger
}

const encoder = new TextEncoder()

/** The bytes of a line's digest kept for checking it when it is read again. */
export const DIGEST = 8

/** The digest of a line's bytes: the first `DIGEST` bytes of its SHA-256. */
export const digest = (bytes: Uint8Array): Uint8Array =>
  createHash("sha256").update(bytes).digest().subarray(0, DIGEST)

/** Where a key's line is: its number (1-based), its bytes in the file and their digest. */
export interface Located {
  readonly line: number
  readonly start: number
  readonly end: number
  readonly digest: Uint8Array
}

const SALT = 16

export class LineIndex {
  private keys = new Uint8Array(1 << 12)
  /** Key i is `keys[keyAt[i], keyAt[i + 1])`. */
  private keyAt = new Float64Array(1 << 10)
  /** Line i (1-based number i + 1) is `length[i]` bytes from `lineAt[i]`. */
  private lineAt = new Float64Array(1 << 10)
  private length = new Uint32Array(1 << 10)
  private digests = new Uint8Array(DIGEST << 10)
  /** Each line's hash, so that the table can grow without hashing every key again. */
  private hashes = new Uint32Array(1 << 10)
  /** Slots of line indices plus one (0: empty), a power of two at most half full. */
  private table = new Uint32Array(1 << 11)
  private count = 0
  private readonly salt = randomBytes(SALT)

  get lines(): number {
    return this.count
  }

  private hashOf(key: Uint8Array): number {
    return createHash("sha256").update(this.salt).update(key).digest().readUInt32LE(0)
  }

  /** Is key i the bytes `k`? */
  private holds(i: number, k: Uint8Array): boolean {
    const start = this.keyAt[i]!
    if (this.keyAt[i + 1]! - start !== k.length) return false
    for (let x = 0; x < k.length; x++) if (this.keys[start + x] !== k[x]) return false
    return true
  }

  /** The slot of key `k` (hashed `h`): the line holding it, or the empty slot where it would go. */
  private slot(k: Uint8Array, h: number): number {
    const mask = this.table.length - 1
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const at = this.table[s]!
      if (at === 0 || (this.hashes[at - 1] === h && this.holds(at - 1, k))) return s
    }
  }

  /**
   * Adds the next line of the file: its key, where its bytes are, and their digest. When an earlier
   * line has the same key, adds nothing and gives that line's number.
   */
  add(key: string, start: number, end: number, lineDigest: Uint8Array): number | undefined {
    const k = encoder.encode(key)
    const h = this.hashOf(k)
    const s = this.slot(k, h)
    if (this.table[s] !== 0) return this.table[s]!
    const i = this.count++
    const from = this.keyAt[i]!
    this.keys = grow(this.keys, from + k.length, (n) => new Uint8Array(n))
    this.keys.set(k, from)
    this.keyAt = grow(this.keyAt, i + 2, (n) => new Float64Array(n))
    this.keyAt[i + 1] = from + k.length
    this.lineAt = grow(this.lineAt, i + 1, (n) => new Float64Array(n))
    this.length = grow(this.length, i + 1, (n) => new Uint32Array(n))
    this.hashes = grow(this.hashes, i + 1, (n) => new Uint32Array(n))
    this.digests = grow(this.digests, (i + 1) * DIGEST, (n) => new Uint8Array(n))
    this.lineAt[i] = start
    this.length[i] = end - start
    this.hashes[i] = h
    this.digests.set(lineDigest.subarray(0, DIGEST), i * DIGEST)
    this.table[s] = i + 1
    if (this.count * 2 > this.table.length) this.rehash()
    return undefined
  }

  /** Twice the slots, every line placed again by its kept hash. */
  private rehash(): void {
    const table = new Uint32Array(this.table.length * 2)
    const mask = table.length - 1
    for (let i = 0; i < this.count; i++) {
      let s = this.hashes[i]! & mask
      while (table[s] !== 0) s = (s + 1) & mask
      table[s] = i + 1
    }
    this.table = table
  }

  /** The line of `key`. */
  find(key: string): Located | undefined {
    const k = encoder.encode(key)
    const at = this.table[this.slot(k, this.hashOf(k))]!
    if (at === 0) return undefined
    const i = at - 1
    return {
      line: at,
      start: this.lineAt[i]!,
      end: this.lineAt[i]! + this.length[i]!,
      digest: this.digests.subarray(i * DIGEST, (i + 1) * DIGEST)
    }
  }
}
