import { assertEquals } from "../../support/assert.ts";
import type { LeaseHolderLookup } from "../../../src/engine/runtime.ts";
import { runLiveness } from "../../../src/runtimes/docker/run_liveness.ts";
import { currentOwner, type RunOwner } from "../../../src/coordination/run_owner.ts";
import { deadOwner } from "../../support/run_owners.ts";

const remote = (redis?: string) => ({
  ...currentOwner("far-run", "t"),
  machine: "another-machine",
  ...(redis !== undefined ? { redis } : {}),
});

/** A lease table standing in for the run's Redis (the lookup's own tests use a real one). */
function leases(table: Record<string, RunOwner | null>): LeaseHolderLookup {
  return (database) => Promise.resolve(database in table ? table[database] : "elsewhere");
}

Deno.test("runLiveness() answers from the process table for a run of this machine", async () => {
  assertEquals(await runLiveness(currentOwner("r", "t")), "alive");
  assertEquals(await runLiveness(deadOwner("r", "t")), "dead");
});

Deno.test("runLiveness() answers from the lease for another machine's run on the same Redis", async () => {
  const lookup = leases({ "10.0.0.5:6379/1": remote(), "10.0.0.5:6379/2": null });
  assertEquals(await runLiveness(remote("10.0.0.5:6379/1"), lookup), "alive");
  assertEquals(await runLiveness(remote("10.0.0.5:6379/2"), lookup), "dead");
  // Its database is leased by another run now: this one is over.
  const taken = leases({ "10.0.0.5:6379/1": currentOwner("other", "t") });
  assertEquals(await runLiveness(remote("10.0.0.5:6379/1"), taken), "dead");
});

Deno.test("runLiveness() cannot tell for another machine's run on another or a loopback Redis", async () => {
  const lookup = leases({ "127.0.0.1:6399/0": null });
  assertEquals(await runLiveness(remote("10.9.9.9:6379/0"), lookup), "unknown");
  // 127.0.0.1 of another machine is not our 127.0.0.1.
  assertEquals(await runLiveness(remote("127.0.0.1:6399/0"), lookup), "unknown");
  assertEquals(await runLiveness(remote(), lookup), "unknown");
  assertEquals(await runLiveness(remote("10.0.0.5:6379/1")), "unknown");
});
