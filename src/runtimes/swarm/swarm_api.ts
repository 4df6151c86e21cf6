/**
 * SwarmManager: the swarm's API on one manager's engine — `/info`, `/nodes`, `/services`,
 * `/tasks` — spoken through that engine's `DockerEngine` (the swarm's API is the Engine API), on
 * a connection of its own: this machine's socket (`manager: local`) or a channel of an SSH
 * connection to the manager, reconnected when it drops (`ReconnectingRemote`, as the Docker
 * runtime's hosts are): a request made during the outage waits for the new connection. Peers are
 * services of one task each (docs/config.md, "Docker Swarm"); each call takes an `AbortSignal`.
 */
import { type HostConfig, hostName, type SwarmHostConfig } from "../../plan/schema.ts";
import { DockerEngine, engineSocketOf } from "../docker/engine_api.ts";
import type { RunSpec } from "../docker/docker.ts";
import { HOST_GATEWAY_MAPPING, HOST_GATEWAY_NAME } from "../docker/redis_address.ts";
import { connectHost } from "../../transport/connect.ts";
import { type ConnectionEvent, ReconnectingRemote } from "../../transport/reconnecting_remote.ts";
import { readNode, type SwarmNode } from "./swarm_nodes.ts";
import { setTimeout as sleep } from "node:timers/promises";

/** How long a dropped connection to the manager is retried by default, ms. */
const DEFAULT_GIVE_UP_AFTER_MS = 30_000;

/** How tm holds its connection to the manager. */
export interface ManagerConnectionOptions {
  /** Traces every Engine API call (`--verbose`). */
  trace?: (message: string) => void;
  /** How long after the connection drops reconnection is tried, ms. Default 30 s. */
  giveUpAfterMs?: number;
  /** Told about every loss, failed attempt, recovery and give-up. Must not throw. */
  onConnectionEvent?: (event: ConnectionEvent) => void;
}

/** How often a new service's task is looked at until its container exists. */
const TASK_POLL_MS = 100;

/** The manager's engine is in no swarm, or is not a manager of it. */
export class NotAManagerError extends Error {
  constructor(readonly swarm: string, readonly state: string) {
    super(
      `${swarm}: the engine tm reaches is ${
        state === "active" ? "a worker, not a manager" : `in no swarm (${state || "inactive"})`
      }: point the entry at a manager (docker node ls works there)`,
    );
    this.name = "NotAManagerError";
  }
}

/** A service's task ended before its container ran (rejected: image missing, port taken, ...). */
export class TaskFailedError extends Error {
  constructor(readonly service: string, readonly state: string, readonly reason: string) {
    super(`service ${service}: its task was ${state} before it ran: ${reason}`);
    this.name = "TaskFailedError";
  }
}

/** A task of a service, as tm reads it (`GET /tasks`). */
export interface TaskSummary {
  id: string;
  serviceId: string;
  nodeId: string;
  /** `Status.State`: new … running, then complete, failed, shutdown, rejected, orphaned, remove. */
  state: string;
  /** The task's container, once it has one. */
  containerId: string | undefined;
  /** Its container's exit code, once it ended. */
  exitCode: number | undefined;
  /** Why it failed, as the swarm says (`Status.Err`); "" if none. */
  error: string;
}

/** Task states after which a task never runs again (its service's restart policy is none). */
export const ENDED_TASK_STATES: ReadonlySet<string> = new Set([
  "complete",
  "failed",
  "shutdown",
  "rejected",
  "orphaned",
  "remove",
]);

/** A service of the swarm, as tm lists them. */
export interface ServiceSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export class SwarmManager {
  readonly name: string;
  readonly #remote: ReconnectingRemote;
  readonly engine: DockerEngine;

  private constructor(
    name: string,
    remote: ReconnectingRemote,
    socket: Promise<string>,
    trace?: (m: string) => void,
  ) {
    this.name = name;
    this.#remote = remote;
    this.engine = new DockerEngine({
      host: name,
      dial: async (signal) => remote.dialSocket(await socket, signal),
      ...(trace ? { trace } : {}),
    });
  }

  /** Connects to the swarm entry's manager (no request made yet). */
  static async connect(
    swarm: SwarmHostConfig,
    signal: AbortSignal,
    options: ManagerConnectionOptions = {},
  ): Promise<SwarmManager> {
    const name = hostName(swarm);
    const host: HostConfig = swarm.manager === "local"
      ? { connection: "local", address: "localhost", name, base_port: 1, tags: [] }
      : {
        connection: "ssh",
        name,
        address: swarm.address,
        ssh_user: swarm.ssh_user!,
        ssh_auth: swarm.ssh_auth!,
        ssh_port: swarm.ssh_port,
        host_key_check: swarm.host_key_check,
        base_port: 1,
        tags: [],
      };
    const first = await connectHost(host, 0, signal);
    // Reconnections outlive `signal`: teardown needs the manager too.
    const remote = new ReconnectingRemote(first, {
      connect: (attempt) => connectHost(host, 0, attempt),
      giveUpAfterMs: options.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS,
      onEvent: (event) => options.onConnectionEvent?.(event),
    });
    const socket = swarm.manager === "local"
      ? Promise.resolve(engineSocketOf(Deno.env.get("DOCKER_HOST")))
      : remote.execute(["sh", "-c", 'printf %s "$DOCKER_HOST"']).then((r) =>
        engineSocketOf(r.stdout)
      );
    const path = socket.then((value) => {
      if (value === null) {
        throw new Error(
          `${name}: DOCKER_HOST there is not a unix:// socket; tm needs the engine's socket`,
        );
      }
      return value;
    });
    path.catch(() => {});
    return new SwarmManager(name, remote, path, options.trace);
  }

  /** True while the connection to the manager is up (no outage, not given up, not closed). */
  get connected(): boolean {
    return this.#remote.connected;
  }

  /**
   * Waits for the connection to the manager: at once when up, through an outage under way, or,
   * after reconnection was given up, trying again for at most `withinMs` (cleanup's last chance).
   */
  reconnect(withinMs: number, signal?: AbortSignal): Promise<void> {
    return this.#remote.reconnect(withinMs, signal);
  }

  /**
   * This machine's address as the manager sees it (`$SSH_CONNECTION`), null when the manager is
   * this machine's engine.
   */
  orchestratorAddress(): Promise<string | null> {
    return this.#remote.orchestratorAddress();
  }

  /** The manager's own node ID; throws NotAManagerError unless it is a manager. */
  async nodeId(signal?: AbortSignal): Promise<string> {
    const info = await this.engine.request<{
      Swarm?: { NodeID?: string; LocalNodeState?: string; ControlAvailable?: boolean };
    }>("info", {
      path: "/info",
      method: "GET",
      statusCodes: { 200: true, 500: "server error" },
    }, signal);
    if (!info.Swarm?.ControlAvailable || !info.Swarm.NodeID) {
      throw new NotAManagerError(this.name, info.Swarm?.LocalNodeState ?? "");
    }
    return info.Swarm.NodeID;
  }

  /** Every node of the swarm. */
  async nodes(signal?: AbortSignal): Promise<SwarmNode[]> {
    const raw = await this.engine.request<Parameters<typeof readNode>[0][]>("node ls", {
      path: "/nodes?",
      method: "GET",
      statusCodes: {
        200: true,
        400: "bad parameter",
        404: "no such node",
        500: "server error",
        503: "node is not part of a swarm",
      },
    }, signal);
    return raw.map(readNode);
  }

  /** The services carrying every one of `labels` (`key=value`). */
  async services(labels: string[], signal?: AbortSignal): Promise<ServiceSummary[]> {
    const raw = await this.engine.request<
      { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }[]
    >("service ls", {
      path: "/services?",
      method: "GET",
      options: { filters: JSON.stringify({ label: labels }) },
      statusCodes: { 200: true, 500: "server error" },
    }, signal);
    return raw.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? s.ID, labels: s.Spec?.Labels ?? {} }));
  }

  /** The tasks matching `filters` (`service`, `node`, `label`, `desired-state`, as the API's). */
  async tasks(filters: Record<string, string[]>, signal?: AbortSignal): Promise<TaskSummary[]> {
    const raw = await this.engine.request<{
      ID: string;
      ServiceID?: string;
      NodeID?: string;
      Status?: {
        State?: string;
        Err?: string;
        ContainerStatus?: { ContainerID?: string; ExitCode?: number };
      };
    }[]>("service ps", {
      path: "/tasks?",
      method: "GET",
      options: { filters: JSON.stringify(filters) },
      statusCodes: { 200: true, 500: "server error" },
    }, signal);
    return raw.map((task) => ({
      id: task.ID,
      serviceId: task.ServiceID ?? "",
      nodeId: task.NodeID ?? "",
      state: task.Status?.State ?? "",
      containerId: task.Status?.ContainerStatus?.ContainerID || undefined,
      exitCode: task.Status?.ContainerStatus?.ExitCode,
      error: task.Status?.Err ?? "",
    }));
  }

  /**
   * Creates a service of one task running `spec` on node `nodeId` (restart policy none, its UDP
   * ports published in host mode, the image by its ID so no node asks a registry, or by its
   * pinned registry reference), and waits for its task's container. Resolves with the
   * container's ID and name (`<service>.1.<task>`). `configTmpfs`: `/config` is a tmpfs on the
   * node (a node tm cannot reach has no config dir of tm's to bind).
   * @throws TaskFailedError when the task ends before its container exists
   */
  async runService(
    spec: RunSpec,
    placement: {
      nodeId: string;
      nodeAddress: string;
      imageId: string | undefined;
      configTmpfs?: boolean;
    },
    signal: AbortSignal,
  ): Promise<{ id: string; name: string; service: string }> {
    const name = spec.name!;
    const labels = spec.labels ?? {};
    const body = {
      Name: name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: placement.imageId ?? spec.image,
          Labels: labels,
          Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
          Mounts: [
            ...(spec.volumes ?? []).map((v) => ({
              Type: "bind",
              Source: v.source,
              Target: v.target,
            })),
            ...(placement.configTmpfs ? [{ Type: "tmpfs", Target: "/config" }] : []),
          ],
          // A swarm task has no `host-gateway`: the node's own address reaches its host.
          Hosts: (spec.addHosts ?? []).map((entry) =>
            entry === HOST_GATEWAY_MAPPING ? `${placement.nodeAddress} ${HOST_GATEWAY_NAME}` : entry
          ),
        },
        RestartPolicy: { Condition: "none", MaxAttempts: 0 },
        Placement: { Constraints: [`node.id==${placement.nodeId}`] },
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: {
        Ports: (spec.ports ?? []).map((p) => ({
          Protocol: p.protocol ?? "tcp",
          TargetPort: p.container,
          PublishedPort: p.host,
          PublishMode: "host",
        })),
      },
    };
    // Not abortable once asked: a service whose creation lands must be known (teardown removes
    // the run's services by label either way).
    const created = await this.engine.request<{ ID?: string }>(`service create ${name}`, {
      path: "/services/create",
      method: "POST",
      options: body,
      statusCodes: { 200: true, 201: true, 500: "server error" },
    });
    const service = created.ID ?? name;
    for (;;) {
      signal.throwIfAborted();
      const tasks = await this.engine.request<{
        ID: string;
        Slot?: number;
        Status?: { State?: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
      }[]>(`service ps ${name}`, {
        path: "/tasks?",
        method: "GET",
        options: { filters: JSON.stringify({ service: [service] }) },
        statusCodes: { 200: true, 500: "server error" },
      }, signal);
      const task = tasks[0];
      const container = task?.Status?.ContainerStatus?.ContainerID;
      if (task && container) {
        return { id: container, name: `${name}.${task.Slot ?? 1}.${task.ID}`, service };
      }
      const state = task?.Status?.State ?? "";
      if (ENDED_TASK_STATES.has(state)) {
        throw new TaskFailedError(name, state, task?.Status?.Err ?? "no reason given");
      }
      await sleep(TASK_POLL_MS, undefined, { signal });
    }
  }

  /** Removes services by ID or name; those already gone are fine. Returns the ones that failed. */
  async removeServices(ids: string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    await Promise.all(ids.map(async (id) => {
      try {
        await this.engine.request(`service rm ${id}`, {
          path: `/services/${id}`,
          method: "DELETE",
          statusCodes: { 200: true, 204: true, 404: "no such service", 500: "server error" },
        }, signal);
      } catch (error) {
        const status = (error as { status?: number | null }).status;
        if (status !== 404) failed.set(id, error instanceof Error ? error.message : String(error));
      }
    }));
    return failed;
  }

  async close(): Promise<void> {
    this.engine.close();
    await this.#remote.close().catch(() => {});
  }
}
