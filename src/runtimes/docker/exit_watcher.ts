/**
 * ExitWatcher: the Docker runtime's watch of one host's container exits, through the Engine
 * API's `/events` stream.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../../base/errors.ts";
import type { OutputLine, PeerExit } from "../../engine/runtime.ts";
import { LABELS } from "./container_names.ts";
import type { DockerEvent } from "./docker.ts";
import type { DockerHost } from "./docker_host.ts";
import { configDir } from "./peer_config_dirs.ts";

/** The code a Docker engine reports for an exit whose status it lost (and for a real 255). */
const ENGINE_LOST_CODE = 255;

/**
 * One `/events` stream per host (Engine API) for this run's `die` events: each resolves the exit
 * promise of its container with the exit code and the last lines of its output. A broken
 * stream is resubscribed from the last event it saw (docker replays buffered events); after a
 * lost connection it waits for the reconnection, then also re-checks the run's containers, so an
 * exit during the outage is reported even if docker's event buffer no longer holds it.
 */
export class ExitWatcher {
  readonly #pending = new Map<string, (exit: PeerExit) => void>();
  /**
   * The time of each container's last `die`: a resubscribed stream replays from the last event
   * seen, which must not end a container started again since (`kill`, then `start`).
   */
  readonly #lastDie = new Map<string, number>();
  readonly #stopped = new AbortController();
  /** `die`s of containers not (yet) expected: a launcher's container may die before it is named. */
  readonly #unclaimed = new Map<string, { ref: string; code: number | null }>();
  /**
   * Each exited container's whole output, where its exit's fetch of the last lines got all of
   * it (fewer lines than asked): teardown hands it over instead of fetching it again. At most
   * `logLines` lines per container; dropped when the container runs again.
   */
  readonly #kept = new Map<string, OutputLine[]>();
  /** Each exited container's fetch of its last lines, while it is under way. */
  readonly #fetching = new Map<string, Promise<unknown>>();
  /** Containers whose exit code came from their entrypoint's file (the engine said 255). */
  readonly #recovered: string[] = [];
  /** Runs expected of each container so far: a fetch for an earlier run keeps nothing. */
  readonly #runs = new Map<string, number>();
  #since = "1"; // this run's label is unique: replaying from the start only returns ours

  constructor(
    readonly host: DockerHost,
    readonly runId: string,
    readonly options: {
      logLines: number;
      /** Exits can no longer be watched (the stream keeps failing on a live connection). */
      fail: (message: string) => void;
    },
  ) {}

  /** A promise resolved when `container` dies (or with code null when the watcher stops). */
  expect(container: string): Promise<PeerExit> {
    this.#kept.delete(container); // a new run adds to its output
    this.#runs.set(container, (this.#runs.get(container) ?? 0) + 1);
    return new Promise((resolve) => this.#pending.set(container, resolve));
  }

  /**
   * `container`'s whole output as its exit fetched it, if that was all of it and it has not
   * run again since; undefined otherwise (fetch it). Waits for that fetch if it is under way:
   * the container must not be removed under it, nor its output read twice. Handed over once:
   * the watcher keeps it no longer (kept, it held every peer's lines through the end of the
   * run, the run record's reports included: 25,000 line strings at 1,000 peers, with the peer
   * state's copies, in a heap snapshot taken at cleanup).
   */
  async takeKeptOutput(container: string): Promise<readonly OutputLine[] | undefined> {
    await this.#fetching.get(container);
    const kept = this.#kept.get(container);
    this.#kept.delete(container);
    return kept;
  }

  /** Whether every container expected has exited (or was forgotten): none runs any more. */
  get idle(): boolean {
    return this.#pending.size === 0;
  }

  /**
   * The container expected as `from` is called `to` (a launcher named it): watch it by that
   * name; a `die` of it seen already resolves it now.
   */
  rename(from: string, to: string): void {
    const resolve = this.#pending.get(from);
    if (!resolve || from === to) return;
    this.#pending.delete(from);
    this.#pending.set(to, resolve);
    this.#kept.delete(to);
    this.#runs.set(to, (this.#runs.get(to) ?? 0) + 1);
    const died = this.#unclaimed.get(to);
    if (died) this.#resolve(to, died.ref, died.code);
  }

  /** The container never started: stop expecting it. */
  forget(container: string): void {
    this.#pending.get(container)?.({ code: null, output: [] });
    this.#pending.delete(container);
  }

  start(): void {
    void this.#watch();
  }

  /** Stops watching; pending exits resolve with code null (the runtime removed them). */
  stop(): void {
    this.#stopped.abort();
    for (const resolve of this.#pending.values()) resolve({ code: null, output: [] });
    this.#pending.clear();
  }

  async #watch(): Promise<void> {
    const signal = this.#stopped.signal;
    const remote = this.host.remote;
    let generation = remote.generation;
    let failures = 0; // consecutive broken streams on the same, live connection
    while (!signal.aborted) {
      try {
        // During an outage: wait for the reconnection. Given up: the runtime fails the run.
        await remote.ready(signal);
      } catch {
        return;
      }
      const resumed = remote.generation !== generation;
      generation = remote.generation;
      if (resumed) failures = 0;
      const stream = new AbortController();
      try {
        const events = this.host.engine.events([
          `label=${LABELS.run}=${this.runId}`,
          "type=container",
          "event=die",
        ], { since: this.#since, signal: AbortSignal.any([signal, stream.signal]) });
        if (resumed) void this.#recheck(signal);
        for await (const event of events) this.#onDie(event);
      } catch {
        // the stream broke (or could not start); resubscribe below
      } finally {
        stream.abort();
      }
      if (signal.aborted) return;
      if (!remote.connected || remote.generation !== generation) continue;
      if (++failures > 5) {
        this.options.fail(
          "the `docker events` stream keeps failing: container exits are not watched",
        );
        return;
      }
      // Back off, but never past the end of the run.
      await sleep(200 * failures, undefined, { signal }).catch(() => {});
    }
  }

  /** After a reconnection: resolves pending containers that are no longer running. */
  async #recheck(signal: AbortSignal): Promise<void> {
    if (this.#pending.size === 0) return;
    try {
      const found = await this.host.engine.containers(
        { labels: [`${LABELS.run}=${this.runId}`, `${LABELS.role}=peer`] },
        { signal },
      );
      const byName = new Map(found.map((c) => [c.name, c]));
      for (const container of [...this.#pending.keys()]) {
        const state = byName.get(container)?.state;
        if (state === "running" || state === "restarting" || state === "created") continue;
        const code = state === undefined ? null : await this.#exitCode(container, signal);
        this.#resolve(container, container, code);
      }
    } catch {
      // the stream's replay still reports what docker buffered
    }
  }

  async #exitCode(container: string, signal: AbortSignal): Promise<number | null> {
    try {
      return (await this.host.engine.inspect(container, signal)).exitCode;
    } catch {
      return null;
    }
  }

  #onDie(event: DockerEvent): void {
    const name = event.attributes.name;
    if (event.timeNano > 0) {
      if ((this.#lastDie.get(name) ?? 0) >= event.timeNano) return;
      this.#lastDie.set(name, event.timeNano);
      const seconds = Math.floor(event.timeNano / 1e9);
      this.#since = `${seconds}.${String(event.timeNano % 1e9).padStart(9, "0")}`;
    }
    const raw = Number(event.attributes.exitCode);
    this.#resolve(
      event.attributes.name,
      event.id || event.attributes.name,
      Number.isInteger(raw) ? raw : null,
    );
  }

  /**
   * Reports a pending container's exit once, at once; the last lines of its logs follow as
   * the exit's `pendingOutput`. An engine busy with hundreds of exits answers each log read
   * late: at 1,000 peers on the test bed (load average 50-370) the exits reached the engine
   * 17-167 s after the peers said `stopped` while each waited for its read, the reads queued
   * behind one another on the host's sockets.
   */
  #resolve(container: string, ref: string, code: number | null): void {
    const resolve = this.#pending.get(container);
    if (!resolve) {
      if (!this.#stopped.signal.aborted) this.#unclaimed.set(container, { ref, code });
      return;
    }
    this.#pending.delete(container);
    this.#unclaimed.delete(container);
    const wanted = this.options.logLines;
    const run = this.#runs.get(container);
    const fetched = this.#lastLines(ref, wanted)
      .then((lines) => {
        // Fewer lines than asked: that is all the container wrote. Kept unless it ran again.
        if (wanted > 0 && lines.length < wanted && this.#runs.get(container) === run) {
          this.#kept.set(container, lines);
        }
        return lines;
      }, (error) => [{ at: "", text: `(docker logs failed: ${errorMessage(error)})` }]);
    const pendingOutput = fetched.then((lines) => ({
      output: lines.map((l) => l.text),
      outputAt: lines.map((l) => l.at),
    }));
    if (code !== ENGINE_LOST_CODE) {
      this.#track(container, fetched);
      resolve({ code, output: [], pendingOutput });
      return;
    }
    // Teardown waits for this read too (`takeKeptOutput`) before it removes the config dir.
    const written = this.#entrypointCode(container);
    this.#track(container, Promise.all([fetched, written]));
    void written.then((entrypoint) => {
      if (entrypoint === null || entrypoint === code) {
        return resolve({ code, output: [], pendingOutput });
      }
      this.#recovered.push(container);
      resolve({ code: entrypoint, output: [], pendingOutput });
    });
  }

  /** `work` is under way for `container` until it settles: teardown waits for it. */
  #track(container: string, work: Promise<unknown>): void {
    const tracked = work.finally(() => {
      if (this.#fetching.get(container) === tracked) this.#fetching.delete(container);
    });
    this.#fetching.set(container, tracked);
  }

  /**
   * The exit code `container`'s entrypoint wrote, where the engine said 255: lib/entrypoint.sh
   * writes its code to `/config/exit-code` just before it exits, and a Docker engine under heavy
   * load reports 255 for containers whose entrypoint exited 0 (1,000 peers on the test bed: 880
   * exits reported 255; of 300 of them sampled, 252 had printed `exit 0` as their last line in a
   * diagnostic copy of the entrypoint). The engine's 255 stands when the file is absent (an image
   * without that entrypoint, a killed peer), unreadable, or says 255 too.
   */
  async #entrypointCode(container: string): Promise<number | null> {
    try {
      const read = await this.host.shell.execute([
        "cat",
        `${configDir(this.host.home, container)}/exit-code`,
      ]);
      const text = read.stdout.trim();
      return read.code === 0 && /^\d{1,3}$/.test(text) && Number(text) <= 255 ? Number(text) : null;
    } catch {
      return null;
    }
  }

  /** Containers whose reported exit code is their entrypoint's, not the engine's 255. */
  get recoveredCodes(): readonly string[] {
    return this.#recovered;
  }

  /** The last `count` lines of a container's output, as `outputLines` reads them. */
  async #lastLines(ref: string, count: number): Promise<OutputLine[]> {
    const lines: OutputLine[] = [];
    const tail = Number.isFinite(count) ? { tail: count } : {};
    for await (const line of this.host.engine.outputLines(ref, undefined, tail)) {
      lines.push(line);
    }
    return lines;
  }
}
