/**
 * ProcessRuntime: a PeerRuntime that runs each peer as a local process. The engine's
 * integration tests use it, and developers can run a scenario with it without Docker.
 *
 * It plays the part of the image's `entrypoint.sh`: a peer that exits 42 after writing a delay
 * to `TM_DELAY_FILE` (a per-peer file in a temp dir this runtime owns) is run again after that
 * many seconds. `teardown()` ends every process and removes the temp dir: nothing outlives it.
 *
 * Its `faults` do pause/resume/kill/start with SIGSTOP/SIGCONT/SIGKILL and a new process; local
 * processes share tm's network, so network faults are refused at preflight.
 */
import { settledWithin } from "../../base/async.ts";
import { faultKind } from "../../faults/kinds.ts";
import {
  type FaultControl,
  type FaultName,
  FaultTargetGoneError,
  FaultToolError,
  type OutputCollector,
  type OutputLine,
  type PeerExit,
  type PeerLaunch,
  type PeerRuntime,
  type RunningPeer,
  type RuntimeContext,
  type RuntimeSink,
  type TeardownOptions,
} from "../../engine/runtime.ts";
import type { PlacedPeer } from "../../plan/placement.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../../base/errors.ts";

/** Exit code of the restart protocol (docs/protocol.md, Restart). */
export const RESTART_EXIT_CODE = 42;

/** How a FaultToolError of this runtime names where it checked and what is missing. */
export const PROCESS_FAULT_HOST = "local processes";
export const PROCESS_FAULT_TOOL = "network namespace";

/** Whether local processes cannot have `fault`: they share tm's network (a `heal` undoes nothing). */
const refused = (fault: FaultName) =>
  faultKind(fault).acts === "network" && !faultKind(fault).heals;

export interface ProcessRuntimeOptions {
  /** The command line of a peer, e.g. `["deno", "run", "-A", "lib/typescript/reference_peer.ts"]`. */
  command: (placement: PlacedPeer) => string[];
  /**
   * Extra environment for every peer, under the peer's own variables. The processes also
   * inherit tm's environment (so `PATH` and `HOME` work). Default: none.
   */
  env?: Record<string, string>;
  /** Working directory of the peers. Default: tm's. */
  cwd?: string;
  /** How long `teardown()` waits after SIGTERM before SIGKILL. Default: 3,000 ms. */
  graceMs?: number;
  /** How many of the last output lines an exit report keeps. Default: 20. */
  outputLines?: number;
  /**
   * Receives every line the peers print (stdout and stderr) and the runtime's own notes about
   * them (`process runtime: restarting alice in 2s`), as they come. Default: none.
   */
  onOutput?: (peer: string, line: string) => void;
}

/** One peer's process, across restarts. */
class LocalPeer implements RunningPeer {
  child: Deno.ChildProcess | undefined;
  readonly output: string[] = [];
  /**
   * Every line it printed, across restarts and `start` faults (the new process continues the
   * killed one's), for `TeardownOptions.collectOutput`.
   */
  transcript: OutputLine[] = [];
  /** `pid <n>` of its first process. */
  id = "";
  exited!: Promise<PeerExit>;
  constructor(readonly name: string, readonly delayFile: string) {}
}

export class ProcessRuntime implements PeerRuntime {
  readonly kind = "process";
  readonly #options: Required<Omit<ProcessRuntimeOptions, "cwd">> & { cwd?: string };
  readonly #peers: LocalPeer[] = [];
  /** Each peer's latest process (across `start` faults) and how to run it again. */
  readonly #byName = new Map<string, { peer: LocalPeer; launch: PeerLaunch }>();
  /** Aborted when teardown starts: no more restarts, restart delays end. */
  readonly #tearingDown = new AbortController();
  /** Aborted by a forced teardown: SIGKILL without waiting for the grace period. */
  readonly #forced = new AbortController();
  #tempDir: string | undefined;
  #teardown: Promise<void> | undefined;
  /** The sink given to `setup`: teardown's default. */
  #emit: RuntimeSink | undefined;

  constructor(options: ProcessRuntimeOptions) {
    this.#options = {
      env: {},
      graceMs: 3_000,
      outputLines: 20,
      onOutput: () => {},
      ...options,
    };
  }

  /** Pids of the peer processes alive right now (for tests and diagnostics). */
  get pids(): number[] {
    return this.#peers.flatMap((peer) => peer.child ? [peer.child.pid] : []);
  }

  setup(context: RuntimeContext): Promise<void> {
    this.#ensureTempDir();
    this.#emit = context.emit;
    context.emit({ type: "trace", message: `process runtime: temp dir ${this.#tempDir}` });
    return Promise.resolve();
  }

  redisUrlFor(_placement: PlacedPeer, orchestratorUrl: string): string {
    return orchestratorUrl;
  }

  /** Every peer is a process of this machine: the others reach it on loopback. */
  advertiseIpFor(_placement: PlacedPeer): string {
    return "127.0.0.1";
  }

  start(launch: PeerLaunch, signal: AbortSignal): Promise<RunningPeer> {
    signal.throwIfAborted();
    if (this.#tearingDown.signal.aborted) {
      return Promise.reject(new Error("the process runtime was torn down"));
    }
    return Promise.resolve(this.#launch(launch));
  }

  /** SIGSTOP/SIGCONT/SIGKILL and a new process; network faults refused (`PROCESS_FAULT_*`). */
  readonly faults: FaultControl = {
    preflight: (needs) => {
      for (const [host, faults] of needs) {
        const network = [...faults].filter(refused);
        if (network.length > 0) {
          return Promise.reject(
            new FaultToolError(
              PROCESS_FAULT_HOST,
              PROCESS_FAULT_TOOL,
              `${network.join(", ")} on ${host}: local processes share tm's network, so the ` +
                "process runtime cannot shape or partition it; run the test on Docker hosts",
            ),
          );
        }
      }
      return Promise.resolve();
    },
    pause: (peer) => this.#signalLive(peer, "SIGSTOP"),
    resume: (peer) => this.#signalLive(peer, "SIGCONT"),
    kill: async (peer) => {
      const local = this.#live(peer);
      signalGroup(local.child!, "SIGKILL");
      await local.exited;
    },
    start: (peer, signal) => {
      signal.throwIfAborted();
      const known = this.#byName.get(peer);
      if (!known) {
        return Promise.reject(new FaultTargetGoneError(peer, `${peer} was never started`));
      }
      if (known.peer.child) {
        return Promise.reject(new Error(`${peer} is running (pid ${known.peer.child.pid})`));
      }
      if (this.#tearingDown.signal.aborted) {
        return Promise.reject(new FaultTargetGoneError(peer, "the process runtime was torn down"));
      }
      const again = this.#launch(known.launch);
      again.transcript = [...known.peer.transcript, ...again.transcript];
      return Promise.resolve(again);
    },
    shape: () => Promise.reject(this.#noNetwork()),
    partition: () => Promise.reject(this.#noNetwork()),
    // No network fault can have been set: nothing to remove.
    heal: () => Promise.resolve(),
  };

  #noNetwork(): FaultToolError {
    return new FaultToolError(
      PROCESS_FAULT_HOST,
      PROCESS_FAULT_TOOL,
      "local processes share tm's network: the process runtime has no network faults",
    );
  }

  /** The peer's process, alive; FaultTargetGoneError if it has none. */
  #live(peer: string): LocalPeer & { child: Deno.ChildProcess } {
    const local = this.#byName.get(peer)?.peer;
    if (!local?.child) throw new FaultTargetGoneError(peer, `${peer} has no running process`);
    return local as LocalPeer & { child: Deno.ChildProcess };
  }

  #signalLive(peer: string, signal: Deno.Signal): Promise<void> {
    try {
      signalGroup(this.#live(peer).child, signal);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Spawns a peer's process and supervises it; the first spawn's failure throws. */
  #launch(launch: PeerLaunch): LocalPeer {
    const tempDir = this.#ensureTempDir();
    const peer = new LocalPeer(launch.placement.peer, `${tempDir}/${launch.placement.peer}.delay`);
    const argv = this.#options.command(launch.placement);
    const env = { ...this.#options.env, ...launch.env, TM_DELAY_FILE: peer.delayFile };
    // The first spawn throws to the caller (e.g. command not found); later ones end the peer.
    const first = this.#spawn(peer, argv, env);
    peer.id = `pid ${first.pid}`;
    peer.exited = this.#supervise(peer, first, argv, env);
    this.#peers.push(peer);
    this.#byName.set(peer.name, { peer, launch });
    return peer;
  }

  teardown(options: TeardownOptions = {}): Promise<void> {
    if (options.force) this.#forced.abort();
    this.#teardown ??= this.#stopAll(options.emit ?? this.#emit, options.collectOutput);
    return this.#teardown;
  }

  async #stopAll(
    emit: RuntimeSink | undefined,
    collectOutput: OutputCollector | undefined,
  ): Promise<void> {
    this.#tearingDown.abort();
    await Promise.all(this.#peers.map((peer) => this.#stop(peer, emit)));
    // A process leaves nothing to remove: its output is complete once it stopped.
    if (collectOutput && !this.#forced.signal.aborted) {
      await Promise.all(
        // Once per peer: its latest process, whose transcript holds those before it.
        [...this.#byName.values()].map(({ peer }) =>
          collectOutput(peer.name, linesOf(peer.transcript))
        ),
      );
    }
    if (this.#tempDir) {
      try {
        await Deno.remove(this.#tempDir, { recursive: true });
      } catch (error) {
        emit?.({
          type: "warning",
          message: `could not remove ${this.#tempDir}: ${errorMessage(error)}`,
        });
      }
    }
  }

  async #stop(peer: LocalPeer, emit: RuntimeSink | undefined): Promise<void> {
    const child = peer.child;
    if (child && !this.#forced.signal.aborted) {
      signalGroup(child, "SIGTERM");
      // A paused (SIGSTOPped) peer acts on SIGTERM only once it runs again.
      signalGroup(child, "SIGCONT");
      const timedOut = !await settledWithin(
        peer.exited,
        this.#options.graceMs,
        this.#forced.signal,
      );
      if (timedOut && peer.child && !this.#forced.signal.aborted) {
        emit?.({
          type: "warning",
          peer: peer.name,
          message:
            `${peer.name} did not exit within ${this.#options.graceMs} ms of SIGTERM: killed`,
        });
      }
    }
    if (peer.child) signalGroup(peer.child, "SIGKILL");
    await peer.exited;
  }

  /** Runs the peer until it exits for good, restarting it on the restart protocol. */
  async #supervise(
    peer: LocalPeer,
    first: Deno.ChildProcess,
    argv: string[],
    env: Record<string, string>,
  ): Promise<PeerExit> {
    let child = first;
    for (;;) {
      const code = await this.#wait(peer, child);
      if (code !== RESTART_EXIT_CODE || this.#tearingDown.signal.aborted) {
        return { code, output: [...peer.output] };
      }
      let text: string;
      try {
        text = await Deno.readTextFile(peer.delayFile);
        await Deno.remove(peer.delayFile);
      } catch {
        return { code, output: [...peer.output] }; // 42 without a delay file is a plain exit
      }
      const delay = Number(text.trim());
      const seconds = Number.isFinite(delay) && delay >= 0 ? delay : 0;
      this.#remember(peer, `process runtime: restarting ${peer.name} in ${seconds}s`);
      await sleep(seconds * 1_000, undefined, { signal: this.#tearingDown.signal }).catch(() => {});
      if (this.#tearingDown.signal.aborted) return { code: null, output: [...peer.output] };
      try {
        child = this.#spawn(peer, argv, env);
      } catch (error) {
        this.#remember(peer, `process runtime: cannot restart: ${errorMessage(error)}`);
        return { code: null, output: [...peer.output] };
      }
    }
  }

  #spawn(peer: LocalPeer, argv: string[], env: Record<string, string>): Deno.ChildProcess {
    const [program, ...args] = argv;
    const child = new Deno.Command(program, {
      args,
      env,
      cwd: this.#options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Its own session and process group: a Ctrl-C in tm's terminal does not reach it (tm
      // shuts it down gracefully), and teardown signals everything it started.
      detached: true,
    }).spawn();
    peer.child = child;
    return child;
  }

  /**
   * Waits for the process and its output; returns its exit code, null if a signal ended it.
   * Whatever the process left running in its process group is killed when it exits.
   */
  async #wait(peer: LocalPeer, child: Deno.ChildProcess): Promise<number | null> {
    const output = Promise.all([
      this.#collect(peer, child.stdout),
      this.#collect(peer, child.stderr),
    ]);
    const status = await child.status;
    signalGroup(child, "SIGKILL");
    await output;
    peer.child = undefined;
    return status.signal === null ? status.code : null;
  }

  async #collect(peer: LocalPeer, stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) this.#remember(peer, line);
      }
    } catch {
      // the pipe broke: the process is gone
    }
    if (partial) this.#remember(peer, partial);
  }

  #remember(peer: LocalPeer, line: string): void {
    const text = line.replace(/\r$/, "");
    peer.output.push(text);
    peer.transcript.push({ at: new Date().toISOString(), text });
    if (peer.output.length > this.#options.outputLines) peer.output.shift();
    try {
      this.#options.onOutput(peer.name, text);
    } catch {
      // an observer must not break the runtime
    }
  }

  #ensureTempDir(): string {
    this.#tempDir ??= Deno.makeTempDirSync({ prefix: "tm-process-runtime-" });
    return this.#tempDir;
  }
}

/** Signals the child's whole process group (it leads one), else the child alone. */
function signalGroup(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    Deno.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already exited
    }
  }
}

/** A transcript as the stream `OutputCollector` takes. */
async function* linesOf(lines: readonly OutputLine[]): AsyncIterable<OutputLine> {
  yield* lines;
}
