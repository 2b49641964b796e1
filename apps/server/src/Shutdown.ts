/**
 * The end of the shutdown grace. Every connection still open then is reset (TCP RST), not closed: a
 * close sends what is queued and then a clean end, which a client reading without chunked framing
 * (HTTP/1.0, as a proxy may speak) takes for a whole body. A request whose connection was reset this way
 * is logged as cut (`RequestLog`).
 *
 * Connections are tracked, not responses in flight: the socket is what is reset, and a connection can
 * hold a request whose response has not begun (an export waiting for a pooled connection) or a response
 * already handed over whose last bytes are still queued; a request still running finds the mark through
 * its own socket.
 *
 * @since 0.1.0
 */
import type { Server } from "node:http"
import type { Socket } from "node:net"
import { type Duration, Option } from "effect"

/** The connections reset when the grace ended, each with that grace: a mark that goes with the socket. */
const cut = new WeakMap<Socket, Duration.Duration>()

/**
 * Tracks the connections `server` accepts from now on; the function it returns resets those still
 * open, saying that `grace` has ended.
 *
 * @since 0.1.0
 */
export const track = (server: Server) => {
  const open = new Set<Socket>()
  server.on("connection", (socket: Socket) => {
    open.add(socket)
    socket.once("close", () => open.delete(socket))
  })
  return (grace: Duration.Duration) => {
    for (const socket of open) {
      cut.set(socket, grace)
      socket.resetAndDestroy()
    }
  }
}

/**
 * The grace that ended when `socket` was reset at shutdown, if it was.
 *
 * @since 0.1.0
 */
export const cutAtShutdown = (socket: Socket): Option.Option<Duration.Duration> =>
  Option.fromNullable(cut.get(socket))
