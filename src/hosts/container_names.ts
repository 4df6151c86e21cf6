/**
 * Container names and labels: `tm-<test-slug>-<peer>` so that two different tests can share
 * hosts, and `tm.*` labels that say which run, test and peer a container belongs to.
 */

/** Label keys tm puts on every container it starts. */
export const LABELS = {
  run: "tm.run",
  test: "tm.test",
  peer: "tm.peer",
  role: "tm.role",
} as const;

/** Docker's rule for container names. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Longest slug kept from a test name before a hash is added. */
const MAX_SLUG = 40;

/**
 * The test name as a container-name word: lower case, runs of other characters become `-`.
 * When that changed the name, a short hash of the original keeps different names apart
 * ("My test" and "my-test" get different slugs).
 */
export function testSlug(test: string): string {
  const slug = test.toLowerCase().replace(/[^a-z0-9_.]+/g, "-").replace(/^[-_.]+|-+$/g, "")
    .slice(0, MAX_SLUG).replace(/-+$/, "");
  if (slug === test) return slug;
  return `${slug || "test"}-${shortHash(test)}`;
}

/** `tm-<test-slug>-<peer>`; peer names are valid container-name words by the config schema. */
export function containerName(test: string, peer: string): string {
  const name = `tm-${testSlug(test)}-${peer}`;
  if (!CONTAINER_NAME.test(name)) throw new RangeError(`not a valid container name: ${name}`);
  return name;
}

/** The Redis container of a run: `tm-redis-<test-slug>-<runId>`. */
export function redisContainerName(test: string, runId: string): string {
  return `tm-redis-${testSlug(test)}-${runId.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-")}`;
}

/** Labels of a peer container. */
export function peerLabels(runId: string, test: string, peer: string): Record<string, string> {
  return { [LABELS.run]: runId, [LABELS.test]: test, [LABELS.peer]: peer, [LABELS.role]: "peer" };
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
