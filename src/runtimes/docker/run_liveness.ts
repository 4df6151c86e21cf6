/**
 * Whether the run that left a container is still alive (docs/concurrency.md): its process, when
 * it ran on this machine (exact, at once); otherwise its Redis lease, when it reported to the
 * Redis this run uses (a loopback address of another machine is another server). "unknown"
 * when neither can tell: the caller must not touch that run's containers.
 */
import type { LeaseHolderLookup } from "../../engine/runtime.ts";
import { type Liveness, processState } from "../../coordination/run_owner.ts";
import type { ContainerOwner } from "./container_names.ts";
import { isLoopback, splitHostPort } from "./redis_address.ts";

/**
 * @param owner what the container's labels say (`ownerOfLabels`)
 * @param leaseHolder looks a lease up on this run's Redis; absent before Redis is leased
 */
export async function runLiveness(
  owner: ContainerOwner,
  leaseHolder?: LeaseHolderLookup,
): Promise<Liveness> {
  const local = processState(owner);
  if (local !== "elsewhere") return local;
  if (owner.redis === undefined || leaseHolder === undefined) return "unknown";
  const endpoint = owner.redis.slice(0, owner.redis.lastIndexOf("/"));
  if (isLoopback(splitHostPort(endpoint).host)) return "unknown";
  const holder = await leaseHolder(owner.redis);
  if (holder === "elsewhere") return "unknown";
  return holder?.runId === owner.runId ? "alive" : "dead";
}
