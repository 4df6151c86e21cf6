/**
 * Test hook of the reference peer (`REF_PEER_UDP_ECHO=1`): a UDP socket on the peer's listen
 * port that answers every `ping <id>` datagram with `pong <id>`, and times round trips to another
 * peer's echo from the same socket. tm's fault tests measure with it what a delay, a loss or a
 * partition does to the traffic between peers (docs/config.md, "Faults").
 */
import dgram from "node:dgram";

/** How long a probe waits for its pong by default. */
export const PROBE_TIMEOUT_MS = 1_000;

/** A `<ip>:<port>` target, or undefined when `text` is not one. */
export function parseTarget(text: string): { host: string; port: number } | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port <= 65_535 ? { host: match[1], port } : undefined;
}

/** The echo closed while a round trip waited for its pong. */
export class UdpEchoClosedError extends Error {
  constructor() {
    super("the UDP echo closed before the pong came");
    this.name = "UdpEchoClosedError";
  }
}

/** The UDP echo of one peer; `close()` releases the port. */
export class UdpEcho {
  readonly #socket: dgram.Socket;
  /** Probes waiting for their pong, by id: settled with how their wait ended. */
  readonly #waiting = new Map<string, (end: "answered" | "timeout" | "closed") => void>();
  #next = 0;
  /** Makes this socket's probe ids its own: peers in containers often share one pid. */
  readonly #nonce = crypto.randomUUID().slice(0, 8);

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on("message", (message, from) => this.#onMessage(message.toString(), from));
  }

  /** Binds `port` on every interface; rejects when it cannot (port taken, no permission). */
  static open(port: number): Promise<UdpEcho> {
    const socket = dgram.createSocket("udp4");
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, "0.0.0.0", () => {
        socket.off("error", reject);
        // A send to an unreachable port reports an ICMP error here: a probe sees a timeout.
        socket.on("error", () => {});
        resolve(new UdpEcho(socket));
      });
    });
  }

  /**
   * One round trip to the echo at `host:port`: the time in milliseconds until its pong came
   * back, or null when none came within `timeoutMs` (default PROBE_TIMEOUT_MS). Rejects with
   * `UdpEchoClosedError` when the echo closes first: a probe cut short is no timeout.
   */
  roundTrip(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<number | null> {
    const id = `${this.#nonce}-${this.#next++}`;
    const sent = performance.now();
    return new Promise((resolve, reject) => {
      const settle = (end: "answered" | "timeout" | "closed") => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        if (end === "closed") reject(new UdpEchoClosedError());
        else resolve(end === "answered" ? performance.now() - sent : null);
      };
      const timer = setTimeout(() => settle("timeout"), timeoutMs);
      this.#waiting.set(id, settle);
      // A send the kernel refuses is a lost datagram: the timeout reports it.
      this.#socket.send(`ping ${id}`, port, host, () => {});
    });
  }

  close(): void {
    for (const settle of [...this.#waiting.values()]) settle("closed");
    this.#waiting.clear();
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }

  #onMessage(text: string, from: dgram.RemoteInfo): void {
    if (text.startsWith("ping ")) {
      this.#socket.send(`pong ${text.slice(5)}`, from.port, from.address);
    } else if (text.startsWith("pong ")) {
      this.#waiting.get(text.slice(5))?.("answered");
    }
  }
}
