import { assertEquals } from "../support/assert.ts";
import { PeerLaunches } from "../../src/engine/peer_launches.ts";
import { PeerStates } from "../../src/engine/peer_states.ts";
import type { UnstampedEvent } from "../../src/engine/events.ts";
import type { PeerExit } from "../../src/engine/runtime.ts";
import type { PlacedPeer } from "../../src/plan/placement.ts";
import { referencePeerRuntime, scenario } from "../support/engine_scenario.ts";

const plan: PlacedPeer[] = [{
  peer: "alice",
  hostIndex: 0,
  host: "host-0",
  address: "10.0.0.1",
  port: 11984,
  image: "peer",
  listenAddr: "/ip4/0.0.0.0/udp/11984/quic-v1",
}];

/** PeerLaunches over a real PeerStates; `exit` ends alice's (re)launched run. */
function launches(tearingDown: boolean) {
  const states = new PeerStates(plan);
  const events: UnstampedEvent[] = [];
  const failures: string[] = [];
  const peers = new PeerLaunches({
    config: scenario({ peers: [{ name: "alice" }], commands: [] }),
    plan,
    runtime: referencePeerRuntime(),
    states,
    emit: (event) => events.push(event),
    tearingDown: () => tearingDown,
    fail: (message) => failures.push(message),
  });
  const exit = Promise.withResolvers<PeerExit>();
  peers.relaunched("alice", { name: "alice", id: "pid 1", exited: exit.promise });
  return { peers, states, events, failures, exit };
}

Deno.test("PeerLaunches judges an exit during the runtime's teardown expected, and fails nothing", async () => {
  const { peers, events, failures, exit } = launches(true);
  exit.resolve({ code: 137, output: [] });
  await Promise.all(peers.exits);
  assertEquals(events.map((event) => event.type), ["peer-launched", "peer-exited"]);
  assertEquals(events[1], { type: "peer-exited", peer: "alice", code: 137, expected: true });
  assertEquals(failures, []);
});

Deno.test("PeerLaunches fails the run on a peer that exits with code 1 unasked, naming its last output", async () => {
  const { peers, events, failures, exit } = launches(false);
  exit.resolve({ code: 1, output: ["panic: no route"] });
  await Promise.all(peers.exits);
  assertEquals(failures, ["peer alice exited with code 1 unexpectedly"]);
  assertEquals(events.at(-1), {
    type: "error",
    peer: "alice",
    message:
      "alice exited with code 1 unexpectedly (last status: none); last output: panic: no route",
  });
});

Deno.test("PeerLaunches judges the exit of a peer a kill fault is ending expected, and the run goes on", async () => {
  const { peers, states, events, failures, exit } = launches(false);
  states.markFaultKill("alice", true);
  exit.resolve({ code: null, output: [] });
  await Promise.all(peers.exits);
  assertEquals(events.at(-1), { type: "peer-exited", peer: "alice", code: null, expected: true });
  assertEquals(failures, []);
});
