/**
 * The embedded database's guard against a full disk (see `Embedded.ts`), between PGlite and the socket
 * server, and the few PostgreSQL wire protocol messages it reads and writes.
 */
import type { PGlite } from "@electric-sql/pglite"
import { NO_SPACE } from "./noSpace.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const PROTOCOL_3 = 196608
const DISK_FULL = "53100"

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const backendMessage = (type: string, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(5 + body.length)
  out[0] = type.charCodeAt(0)
  new DataView(out.buffer).setInt32(1, 4 + body.length)
  out.set(body, 5)
  return out
}

/** An ErrorResponse's fields (severity S, code C, message M, ...), from its body. */
const errorFields = (body: Uint8Array): Map<string, string> => {
  const fields = new Map<string, string>()
  let at = 0
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1)
    if (end < 0) break
    fields.set(String.fromCharCode(body[at]), decoder.decode(body.subarray(at + 1, end)))
    at = end + 1
  }
  return fields
}

const errorResponse = (severity: "ERROR" | "FATAL", message: string, detail?: string): Uint8Array => {
  const fields: Array<readonly [string, string]> = [
    ["S", severity],
    ["V", severity],
    ["C", DISK_FULL],
    ["M", message]
  ]
  if (detail !== undefined) fields.push(["D", detail])
  return backendMessage(
    "E",
    concat([...fields.flatMap(([k, v]) => [encoder.encode(k + v), Uint8Array.of(0)]), Uint8Array.of(0)])
  )
}

/**
 * Disk-full errors PostgreSQL recovers from like from any other: a table, an index or a temporary file
 * that cannot grow (tested: the session goes on, and shuts down cleanly). Any other is taken to break
 * PGlite's session, as one writing the WAL does (tested: the next statement spins).
 */
const recoverable = (message: string) =>
  message.startsWith("could not extend file") || message.includes("pgsql_tmp")

/**
 * Puts `db` behind the socket server so that a full disk is reported in words and never hangs:
 * - every disk-full error's message is replaced by one naming the directory (PostgreSQL's own becomes
 *   its detail);
 * - after one that breaks the session, PGlite is never called again. The guard answers instead, so that
 *   the client that hit the error sees it once and can roll back (its ROLLBACK succeeds: nothing of the
 *   transaction was kept), new connections are refused with the reason, and everything else waits for
 *   `drop` (the caller's: it drops every connection a second later). Nothing here throws: the socket
 *   server's queue stops for good on an error.
 */
export const guard = (db: PGlite, dataDir: string, drop: () => void) => {
  let broken = false
  // The transaction status of PostgreSQL's last ReadyForQuery: "I" idle, "T" in a transaction.
  let status = "I"
  const failed = `cannot write the embedded database at ${dataDir}: ${NO_SPACE}; free some space and run the command again`
  const earlier =
    `cannot write the embedded database at ${dataDir}: ${NO_SPACE} earlier in this process; ` +
    "free some space and start it again"
  const ready = (s: string) => backendMessage("Z", encoder.encode(s))

  /**
   * The guard's answer to a frontend message once PGlite may not be called: a startup, a simple query and
   * a Parse (which starts each of the client's queries) get an error, a ROLLBACK succeeds. The rest of an
   * extended-protocol cycle, its Sync included, gets nothing: which client's cycle a Sync ends is not
   * known here, and a ReadyForQuery could tell a client whose statement ran before the break that it is
   * done, uncommitted. Those clients wait for `drop`.
   */
  const answer = (message: Uint8Array): Uint8Array => {
    const startup =
      message.length >= 8 && new DataView(message.buffer, message.byteOffset).getInt32(4) === PROTOCOL_3
    if (startup) return errorResponse("FATAL", earlier)
    switch (String.fromCharCode(message[0])) {
      case "P":
        return errorResponse("ERROR", earlier)
      case "Q":
        return /^\s*rollback\s*;?\s*$/i.test(decoder.decode(message.subarray(5, message.length - 1)))
          ? concat([backendMessage("C", encoder.encode("ROLLBACK\0")), ready("I")])
          : concat([errorResponse("ERROR", earlier), ready("I")])
      default:
        return new Uint8Array(0)
    }
  }

  /** Passes PGlite's output on, message by message, rewriting disk-full errors. */
  const relay = (emit: (data: Uint8Array) => void) => {
    // A message cut between chunks: its parts (copied, as PGlite reuses its buffer), their length, and
    // the message's whole length once its header is in (0 before). The parts are joined once, when the
    // message is complete: joining at every chunk would copy a large row over and over.
    let pending: Array<Uint8Array> = []
    let pendingLength = 0
    let needed = 0
    const lengthAt = (data: Uint8Array, at: number) =>
      1 + new DataView(data.buffer, data.byteOffset + at + 1, 4).getInt32(0)
    let readyLast = false
    const push = (chunk: Uint8Array) => {
      let data = chunk
      if (pending.length > 0) {
        pending.push(chunk.slice())
        pendingLength += chunk.length
        if (needed === 0 && pendingLength >= 5) needed = lengthAt(concat(pending), 0)
        if (needed === 0 || pendingLength < needed) return
        data = concat(pending)
        pending = []
        pendingLength = 0
        needed = 0
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
      const out: Array<Uint8Array> = []
      let from = 0
      let at = 0
      while (at + 5 <= data.length) {
        const end = at + 1 + view.getInt32(at + 1)
        if (end > data.length) break
        const type = String.fromCharCode(data[at])
        readyLast = type === "Z"
        if (type === "Z") status = String.fromCharCode(data[at + 5])
        if (type === "E") {
          const fields = errorFields(data.subarray(at + 5, end))
          const message = fields.get("M") ?? ""
          if (fields.get("C") === DISK_FULL) {
            if (!recoverable(message)) broken = true
            out.push(data.subarray(from, at), errorResponse("ERROR", failed, message))
            from = end
          }
        }
        at = end
      }
      if (at > from) out.push(data.subarray(from, at))
      if (at < data.length) {
        pending = [data.slice(at)]
        pendingLength = data.length - at
        needed = pendingLength >= 5 ? lengthAt(data, at) : 0
      }
      const whole = concat(out)
      if (whole.length > 0) emit(whole)
    }
    return {
      push,
      end: () => {
        if (pending.length > 0) emit(concat(pending))
        return readyLast
      }
    }
  }

  const execProtocolRawStream: PGlite["execProtocolRawStream"] = async (message, options) => {
    if (broken) {
      const reply = answer(message)
      if (reply.length > 0) options.onRawData(reply)
      drop()
      return
    }
    const out = relay(options.onRawData)
    await db.execProtocolRawStream(message, { ...options, onRawData: out.push })
    const readyLast = out.end()
    if (broken) {
      // Broken mid-cycle (an Execute failed, its Sync is still to come): end the cycle now, so the
      // client can roll back; the Sync it already sent is then answered with nothing.
      if (!readyLast) options.onRawData(ready(status === "I" ? "I" : "E"))
      drop()
    }
  }

  const proxy = new Proxy(db, {
    get(target, key) {
      switch (key) {
        case "execProtocolRawStream":
          return execProtocolRawStream
        // The socket server reads these to pick the next query and, when a connection ends, to roll back
        // its transaction: a broken session has no transaction, and must not be asked to roll back.
        case "isInTransaction":
          return () => !broken && target.isInTransaction()
        case "exec":
          return (...args: Parameters<PGlite["exec"]>) =>
            broken ? Promise.resolve([]) : target.exec(...args)
      }
      // PGlite's methods use private fields: they must run on PGlite itself, not on this proxy.
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
  return { db: proxy, isBroken: () => broken }
}
