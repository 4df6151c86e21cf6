/**
 * SshRemote: a Remote over one SSH connection (npm `ssh2`, imported nowhere else). Host keys are
 * checked against known_hosts like OpenSSH's `accept-new`; commands are quoted by `shell.ts`;
 * at most `maxChannels` channels are open at once (OpenSSH allows 10 sessions per connection).
 */
import { Limiter, valueWithin } from "../base/async.ts";
import { Buffer } from "node:buffer";
import { Duplex, PassThrough, type Readable } from "node:stream";
import {
  Client,
  type ClientChannel,
  type ConnectConfig,
  type ServerHostKeyAlgorithm,
  utils,
} from "ssh2";
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  hostName,
  keyTypeLabel,
  type KnownHostEntry,
  knownKeyTypes,
  parseKnownHosts,
} from "./known_hosts.ts";
import type { ExecOptions, ExecResult, Remote, RemoteProcess } from "./remote.ts";
import { RemoteError } from "./remote.ts";
import { commandLine } from "./shell.ts";
import { errorMessage } from "../base/errors.ts";

/** Environment variable holding the passphrase of an encrypted private key. */
export const PASSPHRASE_ENV = "TM_SSH_PASSPHRASE";
/** Environment variable naming the known_hosts file (default `~/.ssh/known_hosts`). */
export const KNOWN_HOSTS_ENV = "TM_KNOWN_HOSTS";

export interface SshOptions {
  /** Host display name, used in every message. */
  name: string;
  /** Host name or IP address. */
  address: string;
  /** SSH port. Default: 22. */
  port?: number;
  /** Login user. */
  user: string;
  /**
   * `agent` (the SSH agent at `$SSH_AUTH_SOCK`) or a private key path (`~` expanded). An
   * encrypted key is decrypted with `$TM_SSH_PASSPHRASE`.
   */
  auth: string;
  /**
   * `accept-new` (default): unknown hosts are accepted and recorded in known_hosts, a changed
   * key is refused. `off`: any key is accepted and nothing is recorded (throwaway labs only).
   */
  hostKeyCheck?: "accept-new" | "off";
  /** known_hosts file. Default: `$TM_KNOWN_HOSTS`, else `~/.ssh/known_hosts`. */
  knownHostsPath?: string;
  /** Time allowed for connecting, the handshake and authentication. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Channels (commands) open at once; more wait in a queue. Default: 8. */
  maxChannels?: number;
  /** Aborting stops connecting and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A host key that known_hosts contradicts (changed) or revokes; reason "host-key". */
export class HostKeyError extends RemoteError {
  constructor(
    host: string,
    /** `changed` (known_hosts records another key of this type) or `revoked`. */
    readonly verdict: "changed" | "revoked",
    /** The presented key's fingerprint, `SHA256:…` as OpenSSH prints it. */
    readonly fingerprint: string,
    /** The known_hosts file and the 1-based line that contradicts the key. */
    readonly knownHostsPath: string,
    readonly line: number,
    message: string,
  ) {
    super(host, "host-key", message);
    this.name = "HostKeyError";
  }
}

/** Host key algorithms ssh2 supports, for each key type known_hosts may record. */
const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

/**
 * Preferred ciphers, in order (a server that offers neither gets the rest of ssh2's list): the
 * AES-GCM ones, the only ones whose packets leave no memory behind under Deno.
 *
 * ssh2 makes a fresh `node:crypto` cipher object for every packet. Deno frees one's native state
 * in `final()`; ssh2 calls it for AES-GCM, not for chacha20-poly1305 (three ciphers a packet each
 * way, never finished) nor for the HMACs of the other ciphers. Measured here over the test bed's
 * SSH, 12,000 Engine API requests: with chacha20-poly1305 tm's malloc heap grew 3.9 to 27.4 MiB
 * and kept growing (~1.7 KiB a request, ~5 % of the bytes of a bulk upload); with AES-128-GCM it
 * stayed at 9.2 MiB after the first 2,000. At 1,000 peers it was 22 of tm's 190 MiB. The price:
 * a 100 MB upload moves at ~85 MB/s where chacha20-poly1305 moved ~140 MB/s.
 */
export const PREFERRED_CIPHERS = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"] as const;

/** The ciphers a handshake chose: this machine to the host, and back. */
export interface SshCiphers {
  toHost: string;
  fromHost: string;
}

/** Bytes of stdout a spawned process buffers before the channel stops granting window. */
const STDOUT_HIGH_WATER_MARK = 1024 * 1024;
/** Bytes a spawned process's stdin accepts before `write()` waits for the channel to drain. */
const STDIN_HIGH_WATER_MARK = 1024 * 1024;

export class SshRemote implements Remote {
  readonly name: string;
  readonly #client: Client;
  readonly #slots: Limiter;
  readonly #commands = new Set<Command>();
  /** Forwarded channels open (`dialSocket`): ended with the connection's error when it goes. */
  readonly #sockets = new Set<ClientChannel>();
  #lost: RemoteError | null = null;
  readonly #disconnected = new AbortController();
  #closing: Promise<void> | null = null;
  #address: Promise<string | null> | null = null;
  /**
   * The ciphers the handshake chose, this machine to the host and back (`PREFERRED_CIPHERS`
   * says why it matters): `aes128-gcm@openssh.com` both ways against an OpenSSH server.
   */
  readonly ciphers: SshCiphers;

  private constructor(
    name: string,
    client: Client,
    maxChannels: number,
    ciphers: SshCiphers,
  ) {
    this.name = name;
    this.ciphers = ciphers;
    this.#client = client;
    this.#slots = new Limiter(maxChannels);
    client.on("error", (error: Error) => {
      this.#lost ??= new RemoteError(name, "unreachable", `connection lost: ${error.message}`, {
        cause: error,
      });
    });
    client.on("close", () => {
      this.#lost ??= new RemoteError(name, "unreachable", "connection closed by the host");
      this.#slots.fail(this.#lost);
      this.#endSockets(this.#lost);
      this.#disconnected.abort(this.#lost);
    });
  }

  get disconnected(): AbortSignal {
    return this.#disconnected.signal;
  }

  /** Connects and authenticates; rejects with a RemoteError naming the host and the cause. */
  static async connect(options: SshOptions): Promise<SshRemote> {
    const { name, address, user } = options;
    const port = options.port ?? 22;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const signal = options.signal;
    const maxChannels = options.maxChannels ?? 8;
    if (!Number.isInteger(maxChannels) || maxChannels < 1) {
      throw new RangeError(`maxChannels must be a positive integer, got ${maxChannels}`);
    }
    signal?.throwIfAborted();
    const credentials = await loadCredentials(name, options.auth);
    const check = options.hostKeyCheck ?? "accept-new";
    const knownHostsPath = expandHome(
      options.knownHostsPath ?? Deno.env.get(KNOWN_HOSTS_ENV) ?? "~/.ssh/known_hosts",
    );
    const entries = check === "off" ? [] : await readKnownHosts(name, knownHostsPath);

    const client = new Client();
    // An 'error' without a listener would throw; the handlers below and the instance's own
    // listener report errors, this one only covers the moments between them.
    client.on("error", () => {});
    let hostKeyFailure: RemoteError | null = null;
    // Set by the first handshake, which `ready` follows.
    let ciphers: SshCiphers = { toHost: "", fromHost: "" };
    const config: ConnectConfig = {
      host: address,
      port,
      username: user,
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      ...credentials,
    };
    const preferredCiphers = [...PREFERRED_CIPHERS];
    config.algorithms = {
      cipher: { remove: preferredCiphers, prepend: preferredCiphers, append: [] },
    };
    // Prefer the key types known_hosts already records for this host, as OpenSSH does, so a
    // host that also offers other types is not mistaken for a new one.
    const preferred = knownKeyTypes(entries, address, port).flatMap((t) =>
      HOST_KEY_ALGORITHMS[t] ?? []
    );
    if (preferred.length > 0) {
      // Removed then prepended: ssh2's `prepend` alone leaves algorithms already listed in place.
      config.algorithms.serverHostKey = { remove: preferred, prepend: preferred, append: [] };
    }
    if (check === "accept-new") {
      config.hostVerifier = (key: Buffer, verify: (valid: boolean) => void) => {
        const blob = new Uint8Array(key);
        const verdict = checkHostKey(entries, address, port, blob);
        if (verdict.status === "known") return verify(true);
        if (verdict.status === "unknown") {
          recordNewHost(knownHostsPath, address, port, blob).then(
            () => verify(true),
            (error: Error) => {
              hostKeyFailure = new RemoteError(
                name,
                "host-key",
                `cannot record the new host key in ${knownHostsPath}: ${error.message}`,
                { cause: error },
              );
              verify(false);
            },
          );
          return;
        }
        hostKeyFailure = hostKeyError(name, address, port, blob, verdict, knownHostsPath);
        verify(false);
      };
    }

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        client.removeListener("ready", onReady);
        client.removeListener("error", onError);
        client.removeListener("close", onClose);
        if (error === undefined) return resolve();
        client.destroy();
        reject(error);
      };
      const onReady = () => finish();
      const onError = (error: Error & { level?: string; code?: string }) =>
        finish(
          hostKeyFailure ?? connectError(name, address, port, user, options.auth, timeoutMs, error),
        );
      const onClose = () =>
        finish(
          hostKeyFailure ??
            new RemoteError(
              name,
              "unreachable",
              `${address}:${port} closed the connection during the handshake`,
            ),
        );
      const onAbort = () => finish(signal?.reason);
      // Covers DNS, TCP connect, handshake and authentication together.
      const timer = setTimeout(
        () => finish(timeoutError(name, address, port, timeoutMs)),
        timeoutMs + 100,
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      client.on("ready", onReady).on("error", onError).on("close", onClose);
      client.once("handshake", (negotiated) => {
        ciphers = { toHost: negotiated.cs.cipher, fromHost: negotiated.sc.cipher };
      });
      client.once("connect", () => {
        // Without TCP_NODELAY every channel request waits ~40 ms for a delayed ACK.
        client.setNoDelay(true);
        coalesceWrites(client);
      });
      try {
        client.connect(config);
      } catch (error) {
        finish(
          new RemoteError(name, "other", `cannot connect: ${errorMessage(error)}`, {
            cause: error,
          }),
        );
      }
    });
    return new SshRemote(name, client, maxChannels, ciphers);
  }

  /** The first field of `$SSH_CONNECTION` on the host (cached after the first success). */
  orchestratorAddress(): Promise<string | null> {
    this.#address ??= this.execute(["sh", "-c", 'printf "%s" "$SSH_CONNECTION"']).then(
      (result) => {
        const address = result.stdout.trim().split(/\s+/)[0];
        if (result.code !== 0 || !address) {
          throw new RemoteError(this.name, "other", "cannot read $SSH_CONNECTION on the host");
        }
        return address;
      },
    );
    this.#address.catch(() => this.#address = null);
    return this.#address;
  }

  async execute(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const { signal } = options;
    const command = await this.#open(argv, signal);
    const { channel } = command;
    return await new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let code: number | null = null;
      let pending = 2; // the channel's close and the end of stderr
      const onAbort = () => this.#kill(command);
      const finished = () => {
        if (--pending > 0) return;
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) return reject(signal.reason);
        if (code === null && this.#lost) return reject(this.#lostWhile(argv));
        resolve({
          code,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        });
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      channel.on("data", (chunk: Buffer) => stdout.push(chunk));
      command.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      command.stderr.once("end", finished);
      channel.on("exit", (exitCode: number | null) => code = exitCode ?? null);
      channel.once("close", finished);
      if (options.stdin === undefined) channel.end();
      else {
        channel.end(typeof options.stdin === "string" ? options.stdin : Buffer.from(options.stdin));
      }
    });
  }

  spawn(argv: string[], options: { signal?: AbortSignal } = {}): RemoteProcess {
    const { signal } = options;
    const opening = this.#open(argv, signal);
    const stdout = readableFrom(opening.then((c) => c.channel), STDOUT_HIGH_WATER_MARK);
    const stderr = readableFrom(opening.then((c) => c.stderr), Infinity);
    let command: Command | null = null;
    let killed = false;
    const kill = () => {
      killed = true;
      // Unread output would hold the channel open (ssh2 closes it after stdout ends).
      stdout.discard();
      stderr.discard();
      if (command) this.#kill(command);
    };
    const status = opening.then(
      (opened) =>
        new Promise<{ code: number | null }>((resolve) => {
          command = opened;
          let code: number | null = null;
          opened.channel.on("exit", (exitCode: number | null) => code = exitCode ?? null);
          opened.channel.once("close", () => {
            signal?.removeEventListener("abort", kill);
            resolve({ code });
          });
          if (killed) this.#kill(opened);
        }),
      () => ({ code: null }),
    );
    signal?.addEventListener("abort", kill, { once: true });
    return {
      stdin: writableTo(opening.then((c) => c.channel), () => this.#lostWhile(argv)),
      stdout: stdout.stream,
      stderr: stderr.stream,
      status,
      kill,
    };
  }

  /**
   * A channel forwarded to the Unix socket `path` on the host (`direct-streamlocal`), on this
   * connection: no exec, no login shell. Such channels are not sessions (OpenSSH's MaxSessions
   * does not count them), so they take no slot. Node's HTTP agent calls socket methods a channel
   * lacks (`setKeepAlive`, `setNoDelay`, `setTimeout`, `ref`, `unref`): they are no-ops here, as
   * the SSH socket itself has TCP_NODELAY and ssh2's keep-alive.
   */
  async dialSocket(path: string, signal?: AbortSignal): Promise<Duplex> {
    signal?.throwIfAborted();
    if (this.#lost) throw this.#lost;
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      try {
        this.#client.openssh_forwardOutStreamLocal(path, (error, opened) => {
          if (error) {
            reject(
              this.#lost ??
                new RemoteError(
                  this.name,
                  "channel",
                  `cannot reach the socket ${path} on the host: ${error.message} (does it ` +
                    `exist, may the SSH user use it, does sshd allow stream forwarding?)`,
                  { cause: error },
                ),
            );
          } else resolve(opened);
        });
      } catch (error) {
        reject(this.#lost ?? new RemoteError(this.name, "channel", errorMessage(error)));
      }
    });
    // A request on a channel of a lost connection must fail, not wait forever: ssh2 does not
    // always end the channels of a connection that died (measured: an `/events` stream hung).
    this.#sockets.add(channel);
    channel.once("close", () => this.#sockets.delete(channel));
    if (this.#lost) this.#endSockets(this.#lost);
    const socketLike = channel as unknown as Record<string, unknown>;
    for (const method of ["setKeepAlive", "setNoDelay", "setTimeout", "ref", "unref"]) {
      socketLike[method] ??= () => channel;
    }
    channel.on("error", () => {}); // the HTTP client sees it as the socket's close
    if (signal?.aborted) {
      channel.destroy();
      signal.throwIfAborted();
    }
    return channel;
  }

  /** Kills every command still running on the host, then closes the connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#lost ??= new RemoteError(this.name, "channel", "the connection was closed");
      this.#slots.fail(this.#lost);
      this.#endSockets(this.#lost);
      this.#disconnected.abort(this.#lost);
      const running = [...this.#commands];
      if (running.length > 0) {
        const pids = await valueWithin(Promise.all(running.map((c) => c.pid)), 1_000, []);
        await this.#killGroups(pids.filter((pid): pid is number => pid !== null));
      }
      await new Promise<void>((resolve) => {
        // A host that stops answering must not keep close() waiting.
        const timer = setTimeout(() => {
          this.#client.destroy();
          resolve();
        }, 2_000);
        this.#client.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        this.#client.end();
      });
    })();
    return this.#closing;
  }

  /**
   * Opens an exec channel for `argv` once a slot is free. The remote shell first prints its pid
   * on stderr (OpenSSH makes it a process group leader; `exec` keeps the pid), so the command
   * and its children can be killed: OpenSSH refuses `signal` requests on root sessions.
   */
  async #open(argv: string[], signal?: AbortSignal): Promise<Command> {
    signal?.throwIfAborted();
    if (this.#lost) throw this.#lost;
    await this.#slots.acquire(signal);
    let channel: ClientChannel;
    try {
      channel = await new Promise<ClientChannel>((resolve, reject) => {
        this.#client.exec(`echo $$ >&2; exec ${commandLine(argv)}`, (error, opened) => {
          if (error) {
            reject(
              this.#lost ??
                new RemoteError(
                  this.name,
                  "channel",
                  `cannot start \`${argv[0]}\`: ${error.message}`,
                  { cause: error },
                ),
            );
          } else resolve(opened);
        });
      });
    } catch (error) {
      this.#slots.release();
      throw error;
    }
    const command: Command = { channel, ...splitPidLine(channel.stderr), killed: false };
    this.#commands.add(command);
    channel.on("error", () => {}); // surfaced through close/exit and our own stream errors
    channel.stderr.on("error", () => {});
    channel.once("close", () => {
      this.#commands.delete(command);
      this.#slots.release();
    });
    if (signal?.aborted) this.#kill(command);
    return command;
  }

  /** Ends every forwarded channel with `error`: what reads or writes it fails. */
  #endSockets(error: RemoteError): void {
    // The stream's own destroy (ssh2's ignores the error, and would write to a dead socket).
    for (const channel of this.#sockets) Duplex.prototype.destroy.call(channel, error);
    this.#sockets.clear();
  }

  /** Kills the command's process group, then closes its channel; idempotent. */
  #kill(command: Command): void {
    if (command.killed) return;
    command.killed = true;
    command.pid
      .then((pid) => pid === null ? undefined : this.#killGroups([pid]))
      .finally(() => {
        try {
          command.channel.close();
        } catch { /* already closed */ }
      });
  }

  /** `kill -KILL` to process groups on the host, over a channel outside the slot limit. */
  #killGroups(pids: number[]): Promise<void> {
    if (pids.length === 0) return Promise.resolve();
    const line = `kill -s KILL -- ${pids.map((pid) => `-${pid}`).join(" ")} 2>/dev/null`;
    const done = new Promise<void>((resolve) => {
      try {
        this.#client.exec(line, (error, channel) => {
          if (error) return resolve();
          channel.on("error", () => {});
          channel.once("close", () => resolve());
          channel.resume();
          channel.stderr.resume();
          channel.end();
        });
      } catch {
        resolve(); // not connected any more
      }
    });
    return valueWithin(done, 5_000, undefined);
  }

  #lostWhile(argv: string[]): RemoteError {
    const cause = this.#lost;
    return new RemoteError(
      this.name,
      cause?.reason ?? "channel",
      `\`${argv[0]}\` ended without an exit status: ${cause?.message ?? "channel closed"}`,
      { cause },
    );
  }
}

/** An exec channel, its stderr without the pid line, and the pid of its process group. */
interface Command {
  readonly channel: ClientChannel;
  readonly stderr: PassThrough;
  /** Null if the shell did not print it (stderr ended first). */
  readonly pid: Promise<number | null>;
  killed: boolean;
}

/** Reads the pid line the remote shell prints first on stderr and passes the rest through. */
function splitPidLine(source: Readable): { stderr: PassThrough; pid: Promise<number | null> } {
  const stderr = new PassThrough({ highWaterMark: 1024 * 1024 });
  let found: (pid: number | null) => void = () => {};
  const pid = new Promise<number | null>((resolve) => found = resolve);
  let head: Buffer | null = Buffer.alloc(0);
  source.on("data", (chunk: Buffer) => {
    if (head === null) return void stderr.write(chunk);
    head = Buffer.concat([head, chunk]);
    const newline = head.indexOf(0x0a);
    if (newline === -1 && head.length < 32) return;
    const first = head.subarray(0, Math.max(newline, 0)).toString();
    if (newline !== -1 && /^\d+$/.test(first)) {
      found(Number(first));
      if (head.length > newline + 1) stderr.write(head.subarray(newline + 1));
    } else {
      found(null);
      stderr.write(head);
    }
    head = null;
  });
  source.once("end", () => {
    if (head !== null && head.length > 0) stderr.write(head);
    head = null;
    found(null);
    stderr.end();
  });
  return { stderr, pid };
}

/**
 * ssh2 writes each packet to the socket in pieces (chacha20-poly1305: length, payload, MAC), and
 * with TCP_NODELAY each piece became its own write and segment. Corking the socket until the
 * current task ends sends everything ssh2 wrote meanwhile in one writev (measured: about half the
 * system time of a 100 MB upload, ~0.1 s less per 100 MB image shipped). ssh2 keeps the socket
 * in `_sock`; if a future version does not, writes stay as they are.
 */
function coalesceWrites(client: Client): void {
  const sock = (client as unknown as { _sock?: CorkableSocket })._sock;
  if (!sock || typeof sock.cork !== "function" || typeof sock.uncork !== "function") return;
  const write = sock.write.bind(sock);
  let corked = false;
  sock.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      sock.cork();
      queueMicrotask(() => {
        corked = false;
        sock.uncork();
      });
    }
    return write(...args);
  };
}

interface CorkableSocket {
  write(...args: unknown[]): boolean;
  cork(): void;
  uncork(): void;
}

/**
 * A Web ReadableStream over a Node readable that opens later. With a finite high-water mark the
 * source is paused while the queue is full, so ssh2 stops granting channel window (backpressure
 * up to the remote process). Cancelling discards the rest without stalling the channel.
 */
function readableFrom(
  opening: Promise<Readable>,
  highWaterMark: number,
): { stream: ReadableStream<Uint8Array>; discard(): void } {
  let source: Readable | null = null;
  let discarding = false;
  let done = false;
  const discard = () => {
    if (discarding) return;
    discarding = true;
    source?.resume();
  };
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        source = await opening;
      } catch (error) {
        controller.error(error);
        return;
      }
      source.on("data", (chunk: Buffer) => {
        if (discarding || done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) source?.pause();
      });
      source.once("end", () => {
        if (done) return;
        done = true;
        controller.close();
      });
      if (discarding) source.resume();
    },
    pull() {
      source?.resume();
    },
    cancel() {
      done = true;
      discard();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark }));
  return { stream, discard };
}

/**
 * A Web WritableStream into a channel that opens later. `write()` resolves once ssh2 accepted
 * the chunk, or after 'drain' when its buffer is full (the channel's window is the flow control);
 * `close()` sends EOF. Writing after the remote command ended rejects.
 */
function writableTo(
  opening: Promise<ClientChannel>,
  ended: () => RemoteError,
): WritableStream<Uint8Array> {
  let closed = false;
  opening.then((channel) => channel.once("close", () => closed = true), () => {});
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      const channel = await opening;
      if (closed || !channel.writable) throw ended();
      if (channel.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) return;
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          channel.removeListener("close", onClose);
          resolve();
        };
        const onClose = () => {
          channel.removeListener("drain", onDrain);
          reject(ended());
        };
        channel.once("drain", onDrain);
        channel.once("close", onClose);
      });
    },
    async close() {
      const channel = await opening;
      if (!closed) channel.end();
    },
    async abort() {
      const channel = await opening.catch(() => null);
      if (channel && !closed) channel.end();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: STDIN_HIGH_WATER_MARK }));
}

/** Reads the private key or agent socket; an encrypted key needs `$TM_SSH_PASSPHRASE`. */
async function loadCredentials(
  name: string,
  auth: string,
): Promise<Pick<ConnectConfig, "agent" | "privateKey" | "passphrase">> {
  if (auth === "agent") {
    const socket = Deno.env.get("SSH_AUTH_SOCK");
    if (!socket) {
      throw new RemoteError(
        name,
        "auth",
        "ssh_auth is `agent` but SSH_AUTH_SOCK is not set (no SSH agent)",
      );
    }
    return { agent: socket };
  }
  const path = expandHome(auth);
  let privateKey: Uint8Array;
  try {
    privateKey = await Deno.readFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "no such file" : errorMessage(error);
    throw new RemoteError(name, "auth", `cannot read private key ${path}: ${why}`, {
      cause: error,
    });
  }
  const key = Buffer.from(privateKey);
  const parsed = utils.parseKey(key);
  if (!(parsed instanceof Error)) return { privateKey: key };
  if (!/passphrase/i.test(parsed.message)) {
    throw new RemoteError(name, "auth", `${path} is not a usable private key: ${parsed.message}`);
  }
  const passphrase = Deno.env.get(PASSPHRASE_ENV);
  if (passphrase === undefined) {
    throw new RemoteError(
      name,
      "auth",
      `private key ${path} is encrypted: set ${PASSPHRASE_ENV} to its passphrase, or use ssh_auth: agent`,
    );
  }
  if (utils.parseKey(key, passphrase) instanceof Error) {
    throw new RemoteError(
      name,
      "auth",
      `cannot decrypt private key ${path} with ${PASSPHRASE_ENV} (wrong passphrase?)`,
    );
  }
  return { privateKey: key, passphrase };
}

async function readKnownHosts(name: string, path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new RemoteError(name, "host-key", `cannot read ${path}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** Appends per file one at a time, skipping keys another connection recorded meanwhile. */
const appending = new Map<string, Promise<void>>();
function recordNewHost(
  path: string,
  address: string,
  port: number,
  key: Uint8Array,
): Promise<void> {
  const previous = appending.get(path) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(async () => {
    const entries = await Deno.readTextFile(path).then(parseKnownHosts, () => []);
    if (checkHostKey(entries, address, port, key).status === "known") return;
    await appendKnownHost(path, address, port, key);
  });
  appending.set(path, next);
  return next;
}

function hostKeyError(
  name: string,
  address: string,
  port: number,
  key: Uint8Array,
  verdict: { status: "changed" | "revoked"; entry: KnownHostEntry },
  path: string,
): HostKeyError {
  const print = fingerprint(key);
  const type = keyTypeLabel(key);
  const host = hostName(address, port);
  const line = verdict.entry.line;
  if (verdict.status === "revoked") {
    return new HostKeyError(
      name,
      "revoked",
      print,
      path,
      line,
      `host key refused: the ${type} key ${host} sent (${print}) is marked @revoked in ${path}:${line}`,
    );
  }
  return new HostKeyError(
    name,
    "changed",
    print,
    path,
    line,
    `host key changed: the ${type} key ${host} sent has fingerprint ${print}, but ${path}:${line} ` +
      `records another one (someone may be intercepting the connection, or the host was ` +
      `reinstalled). If you trust the new key, remove line ${line} of ${path} ` +
      `(ssh-keygen -R '${host}' -f ${path}).`,
  );
}

function connectError(
  name: string,
  address: string,
  port: number,
  user: string,
  auth: string,
  timeoutMs: number,
  error: Error & { level?: string; code?: string },
): RemoteError {
  const where = `${address}:${port}`;
  const options = { cause: error };
  switch (error.code) {
    case "ECONNREFUSED":
      return new RemoteError(
        name,
        "refused",
        `connection refused by ${where} (is sshd running on that port?)`,
        options,
      );
    case "ETIMEDOUT":
      return timeoutError(name, address, port, timeoutMs);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
    case "EADDRNOTAVAIL":
      return new RemoteError(
        name,
        "unreachable",
        `${where} is unreachable (${error.code})`,
        options,
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new RemoteError(name, "unreachable", `cannot resolve host name ${address}`, options);
    case "ECONNRESET":
      return new RemoteError(
        name,
        "unreachable",
        `${where} reset the connection during the handshake`,
        options,
      );
  }
  if (error.level === "client-authentication") {
    const using = auth === "agent" ? "the keys of the SSH agent" : `key ${expandHome(auth)}`;
    return new RemoteError(
      name,
      "auth",
      `authentication rejected for user ${user} with ${using}`,
      options,
    );
  }
  if (/lost before handshake/i.test(error.message)) {
    return new RemoteError(
      name,
      "unreachable",
      `${where} closed the connection before the SSH handshake (not an SSH server, or a firewall?)`,
      options,
    );
  }
  if (error.level === "client-timeout" || /timed out/i.test(error.message)) {
    return timeoutError(name, address, port, timeoutMs);
  }
  return new RemoteError(
    name,
    "other",
    `SSH connection to ${where} failed: ${error.message}`,
    options,
  );
}

function timeoutError(name: string, address: string, port: number, timeoutMs: number): RemoteError {
  return new RemoteError(
    name,
    "timeout",
    `no SSH session with ${address}:${port} within ${
      timeoutMs / 1000
    } s (host down or port filtered?)`,
  );
}

/** Expands a leading `~` or `~/` to $HOME. */
export function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = Deno.env.get("HOME");
  if (!home) return path;
  return home + path.slice(1);
}
