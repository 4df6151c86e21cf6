/**
 * The exits of peers on nodes tm cannot reach (a swarm with `registry:`), seen through the
 * manager: one poll of `GET /tasks?filters={"service":[…]}` for every such peer still running
 * (one request whatever their number), the exit code from the ended task's
 * `Status.ContainerStatus.ExitCode`, its last lines from `GET /services/{id}/logs` (stdout and
 * stderr, with the engine's timestamps). A peer on a node tm reaches is watched on that node's
 * engine instead (the Docker runtime's `/events` watcher), as without a registry.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { OutputLine, PeerExit } from "../../engine/runtime.ts";
import { errorMessage } from "../../base/errors.ts";
import { ENDED_TASK_STATES, type SwarmManager, type TaskSummary } from "./swarm_api.ts";

/** How often the manager is asked for the watched tasks by default, ms. */
export const DEFAULT_TASK_POLL_MS = 250;

export interface TaskExitsOptions {
  manager: SwarmManager;
  /** Lines of output kept in an exit report. */
  logLines: number;
  /** Between two polls, ms. Default: DEFAULT_TASK_POLL_MS. */
  pollMs?: number;
  /** A poll or a log read failed (it is tried again): for `--verbose`. */
  trace?: (message: string) => void;
}

interface Watched {
  peer: string;
  resolve: (exit: PeerExit) => void;
}

/**
 * The exit of one task ended (`ENDED_TASK_STATES`) as a `PeerExit`: its container's exit code,
 * null when it has none (the task was shut down or rejected before its container ended). Pure.
 */
export function taskExitCode(task: TaskSummary): number | null {
  return ENDED_TASK_STATES.has(task.state) ? task.exitCode ?? null : null;
}

export class TaskExits {
  readonly #options: TaskExitsOptions;
  /** By service ID. */
  readonly #watched = new Map<string, Watched>();
  readonly #stop = new AbortController();
  #polling: Promise<void> | undefined;

  constructor(options: TaskExitsOptions) {
    this.#options = options;
  }

  /** The exit of `service`'s task (peer `peer`), once the manager reports it ended. */
  expect(service: string, peer: string): Promise<PeerExit> {
    if (this.#stop.signal.aborted) return Promise.resolve({ code: null, output: [] });
    const exit = new Promise<PeerExit>((resolve) => this.#watched.set(service, { peer, resolve }));
    this.#polling ??= this.#poll().finally(() => this.#polling = undefined);
    return exit;
  }

  /**
   * Stops watching: every exit still pending resolves with code null (teardown's removal of the
   * services ends them; their output is collected by teardown). Idempotent.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    for (const { resolve } of this.#watched.values()) resolve({ code: null, output: [] });
    this.#watched.clear();
    await this.#polling;
  }

  async #poll(): Promise<void> {
    const signal = this.#stop.signal;
    const { manager, trace } = this.#options;
    // Services watched in the same tick (peers launched at once) share the first request.
    await Promise.resolve();
    while (this.#watched.size > 0 && !signal.aborted) {
      try {
        const tasks = await manager.tasks({ service: [...this.#watched.keys()] }, signal);
        const ended = tasks.filter((task) => ENDED_TASK_STATES.has(task.state));
        await Promise.all(ended.map((task) => this.#report(task, signal)));
      } catch (error) {
        if (signal.aborted) return;
        trace?.(`${manager.name}: watching the tasks: ${errorMessage(error)}; trying again`);
      }
      await sleep(this.#options.pollMs ?? DEFAULT_TASK_POLL_MS, undefined, { signal })
        .catch(() => {});
    }
  }

  /** Resolves the watched exit of `task`'s service with its code and last lines. */
  async #report(task: TaskSummary, signal: AbortSignal): Promise<void> {
    const watched = this.#watched.get(task.serviceId);
    if (!watched) return;
    const lines: OutputLine[] = [];
    try {
      for await (
        const line of this.#options.manager.engine.outputLines(task.serviceId, signal, {
          tail: this.#options.logLines,
          of: "services",
        })
      ) lines.push(line);
    } catch (error) {
      if (signal.aborted) return;
      this.#options.trace?.(
        `${this.#options.manager.name}: the output of ${watched.peer}: ${errorMessage(error)}`,
      );
    }
    if (this.#watched.get(task.serviceId) !== watched) return;
    this.#watched.delete(task.serviceId);
    watched.resolve({
      code: taskExitCode(task),
      output: lines.map((line) => line.text),
      outputAt: lines.map((line) => line.at),
    });
  }
}
