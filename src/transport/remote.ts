import type { Duplex } from "node:stream";

/**
 * Remote: a host we run commands on, over SSH or locally. The Docker code talks to a
 * Remote, never to ssh2 (Jepsen's control layer). Implementations: `ssh.ts`, `local.ts`.
 */

/** Result of a command run to completion. */
export interface ExecResult {
  /** Exit code; null if killed by a signal or the channel closed without one. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Bytes or text written to the command's stdin, then closed. Default: nothing (closed). */
  stdin?: Uint8Array | string;
  /** Aborting kills the command (closes the channel / kills the process) and rejects. */
  signal?: AbortSignal;
}

/** A command with streaming stdio. */
export interface RemoteProcess {
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves with the exit code (null if killed) when the command ended. Never rejects. */
  readonly status: Promise<{ code: number | null }>;
  /** Stop the command now; idempotent. */
  kill(): void;
}

export interface Remote {
  /** Host display name, for messages. */
  readonly name: string;
  /**
   * The orchestrator's address as this host sees it: over SSH the first field of the
   * host's `$SSH_CONNECTION`; null for a local remote (commands run on this machine).
   * A null or loopback answer means containers on this host reach the orchestrator
   * through `host.docker.internal` (`--add-host=host.docker.internal:host-gateway`).
   */
  orchestratorAddress(): Promise<string | null>;
  /**
   * Run `argv` and collect its output. Each word is quoted by `shell.ts` before it reaches
   * a remote shell, so values arrive literally. Does not throw on a non-zero exit; rejects
   * on transport failure (RemoteError) or abort.
   */
  execute(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Start `argv` with streaming stdio (for `docker save | docker load`, `docker events`). */
  spawn(argv: string[], options?: { signal?: AbortSignal }): RemoteProcess;
  /**
   * A byte stream to the Unix socket at `path` on the host (the Docker engine's API socket):
   * over SSH one forwarded channel (`direct-streamlocal@openssh.com`, what `ssh -L` to a socket
   * opens) on the existing connection, no login; locally a plain socket connection. Rejects with
   * a RemoteError when the socket cannot be reached.
   */
  dialSocket(path: string, signal?: AbortSignal): Promise<Duplex>;
  /**
   * Aborted, with a RemoteError as its reason, once the connection is gone: lost (the host or
   * the network dropped it) or closed by `close()`. Never aborted otherwise.
   */
  readonly disconnected: AbortSignal;
  /** Close the connection; idempotent. */
  close(): Promise<void>;
}

/** A transport failure on a host: connection refused, timeout, auth, host key, channel. */
export class RemoteError extends Error {
  constructor(
    /** Host display name. */
    readonly host: string,
    /** Machine-readable cause. */
    readonly reason:
      | "refused"
      | "timeout"
      | "auth"
      | "host-key"
      | "unreachable"
      | "channel"
      | "other",
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${host}: ${message}`, options);
    this.name = "RemoteError";
  }
}
