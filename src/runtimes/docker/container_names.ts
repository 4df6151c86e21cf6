/**
 * Container names and labels: `tm-<test-slug>--<peer>` so that two different tests can share
 * hosts, and `tm.*` labels that say which run, test and peer a container belongs to, and which
 * orchestrator process and Redis database run it (to tell later whether that run is alive).
 */
import { type RunOwner } from "../../coordination/run_owner.ts";

/** Label keys tm puts on every container it starts. */
export const LABELS = {
  run: "tm.run",
  test: "tm.test",
  peer: "tm.peer",
  role: "tm.role",
  /** The orchestrator: hostname, machine id, pid and process identity (see RunOwner). */
  hostname: "tm.hostname",
  machine: "tm.machine",
  pid: "tm.pid",
  process: "tm.process",
  /** `<host>:<port>/<db>` of the Redis database the run reports to (no credentials). */
  redis: "tm.redis",
} as const;

/** Every label key, for `Docker.containers(..., { labelKeys })`. */
export const OWNER_LABEL_KEYS: string[] = Object.values(LABELS);

/** What a container's labels say about the run that started it. */
export interface ContainerOwner extends RunOwner {
  /** `<host>:<port>/<db>` of the run's Redis database, if the labels name one. */
  redis?: string;
}

/** Docker's rule for container names. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Longest slug kept from a test name before a hash is added. */
const MAX_SLUG = 40;

/**
 * The test name as a container-name word: lower case, runs of other characters become `-`.
 * When that changed the name, a short hash of the original keeps different names apart
 * ("My test" and "my-test" get different slugs). A slug never contains `--` nor ends with `-`.
 */
export function testSlug(test: string): string {
  const slug = test.toLowerCase().replace(/[^a-z0-9_.]+/g, "-").replace(/^[-_.]+|-+$/g, "")
    .slice(0, MAX_SLUG).replace(/-+$/, "");
  if (slug === test) return slug;
  return `${slug || "test"}-${shortHash(test)}`;
}

/**
 * `tm-<test-slug>--<peer>`. Unambiguous: a slug never contains `--` nor ends with `-`, and a peer
 * name (a valid container-name word by the config schema) starts with a letter or digit, so the
 * first `--` ends the slug (test `a` with peer `b-c` and test `a-b` with peer `c` differ).
 */
export function containerName(test: string, peer: string): string {
  const name = `tm-${testSlug(test)}--${peer}`;
  if (!CONTAINER_NAME.test(name)) throw new RangeError(`not a valid container name: ${name}`);
  return name;
}

/** The Redis container of a run: `tm-redis-<test-slug>-<runId>`. */
export function redisContainerName(test: string, runId: string): string {
  return `tm-redis-${testSlug(test)}-${runId.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-")}`;
}

/** Labels of a peer container. */
export function peerLabels(owner: ContainerOwner, peer: string): Record<string, string> {
  return { ...ownerLabels(owner), [LABELS.peer]: peer, [LABELS.role]: "peer" };
}

/** Labels of the run's Redis container. */
export function redisLabels(owner: ContainerOwner): Record<string, string> {
  return { ...ownerLabels(owner), [LABELS.role]: "redis" };
}

/** The labels naming the run and its owner (no role, no peer). */
export function ownerLabels(owner: ContainerOwner): Record<string, string> {
  return {
    [LABELS.run]: owner.runId,
    [LABELS.test]: owner.test,
    [LABELS.hostname]: owner.hostname,
    [LABELS.machine]: owner.machine,
    [LABELS.pid]: String(owner.pid),
    [LABELS.process]: owner.process,
    ...(owner.redis !== undefined ? { [LABELS.redis]: owner.redis } : {}),
  };
}

/**
 * The owner a container's labels name. Containers of tm versions before these labels have
 * only `tm.run` and `tm.test`: their owner has no machine, which no liveness check can match.
 */
export function ownerOfLabels(labels: Record<string, string>): ContainerOwner | undefined {
  const runId = labels[LABELS.run];
  if (runId === undefined) return undefined;
  const pid = Number(labels[LABELS.pid]);
  return {
    runId,
    test: labels[LABELS.test] ?? "",
    hostname: labels[LABELS.hostname] ?? "",
    machine: labels[LABELS.machine] ?? "",
    pid: Number.isInteger(pid) ? pid : 0,
    process: labels[LABELS.process] ?? "",
    ...(labels[LABELS.redis] !== undefined ? { redis: labels[LABELS.redis] } : {}),
  };
}

/** 32-bit FNV-1a of the UTF-8 bytes, as 8 hex digits (stable, no crypto needed). */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0").slice(0, 6);
}
