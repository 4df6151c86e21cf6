import { assertEquals } from "../support/assert.ts";
import { LAUNCH_CONCURRENCY, PeerLaunches } from "../../src/engine/peer_launches.ts";
import { PeerStates } from "../../src/engine/peer_states.ts";
import type { UnstampedEvent } from "../../src/engine/events.ts";
import type { ExitOutput, PeerExit, PeerRuntime } from "../../src/engine/runtime.ts";
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

Deno.test("PeerLaunches reports an expected exit before its last lines are read, then the lines in peer-output", async () => {
  const { peers, states, events, exit } = launches(true);
  const lines = Promise.withResolvers<ExitOutput>();
  exit.resolve({ code: 0, output: [], pendingOutput: lines.promise });
  // The exit is in the state and the events while its lines are still being read.
  await states.untilEach(["alice"], (s) => s.exit !== undefined, new AbortController().signal);
  assertEquals(events.at(-1), { type: "peer-exited", peer: "alice", code: 0, expected: true });
  lines.resolve({ output: ["bye"], outputAt: ["2026-12-06T16:00:00.000000001Z"] });
  await Promise.all(peers.exits);
  assertEquals(events.at(-1), {
    type: "peer-output",
    peer: "alice",
    output: ["bye"],
    outputAt: ["2026-12-06T16:00:00.000000001Z"],
  });
});

Deno.test("PeerLaunches waits for a crashed peer's last lines: its exit and its error carry them", async () => {
  const { peers, events, failures, exit } = launches(false);
  const lines = Promise.withResolvers<ExitOutput>();
  exit.resolve({ code: 2, output: [], pendingOutput: lines.promise });
  lines.resolve({ output: ["panic: boom"] });
  await Promise.all(peers.exits);
  assertEquals(events.slice(1), [
    { type: "peer-exited", peer: "alice", code: 2, expected: false, output: ["panic: boom"] },
    {
      type: "error",
      peer: "alice",
      message:
        "alice exited with code 2 unexpectedly (last status: none); last output: panic: boom",
    },
  ]);
  assertEquals(failures, ["peer alice exited with code 2 unexpectedly"]);
});

Deno.test("PeerLaunches judges the exit of a peer a kill fault is ending expected, and the run goes on", async () => {
  const { peers, states, events, failures, exit } = launches(false);
  states.markFaultKill("alice", true);
  exit.resolve({ code: null, output: [] });
  await Promise.all(peers.exits);
  assertEquals(events.at(-1), { type: "peer-exited", peer: "alice", code: null, expected: true });
  assertEquals(failures, []);
});

Deno.test("PeerLaunches.launchAll() launches every host at once, LAUNCH_CONCURRENCY at a time on each", async () => {
  const hosts = ["host-a", "host-b"];
  const many: PlacedPeer[] = Array.from({ length: 200 }, (_, i) => ({
    peer: `p${i}`,
    hostIndex: i % 2,
    host: hosts[i % 2],
    address: `10.0.0.${1 + (i % 2)}`,
    port: 11_000 + i,
    image: "peer",
    listenAddr: `/ip4/0.0.0.0/udp/${11_000 + i}/quic-v1`,
  }));
  const inFlight = new Map(hosts.map((host) => [host, 0]));
  const most = new Map(hosts.map((host) => [host, 0]));
  let mostOverall = 0;
  const runtime: PeerRuntime = {
    kind: "counting",
    setup: () => Promise.resolve(),
    redisUrlFor: (_placement, url) => url,
    teardown: () => Promise.resolve(),
    async start({ placement }) {
      const host = placement.host;
      inFlight.set(host, inFlight.get(host)! + 1);
      most.set(host, Math.max(most.get(host)!, inFlight.get(host)!));
      mostOverall = Math.max(mostOverall, inFlight.get("host-a")! + inFlight.get("host-b")!);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight.set(host, inFlight.get(host)! - 1);
      return { name: placement.peer, id: placement.peer, exited: new Promise<PeerExit>(() => {}) };
    },
  };
  const states = new PeerStates(many);
  const peers = new PeerLaunches({
    config: scenario({ peers: many.map((p) => ({ name: p.peer })), commands: [] }),
    plan: many,
    runtime,
    states,
    emit: () => {},
    tearingDown: () => false,
    fail: () => {},
  });
  await peers.launchAll("redis://127.0.0.1:1", new AbortController().signal);
  assertEquals(states.all().filter((s) => s.launched).length, 200);
  assertEquals(Object.fromEntries(most), {
    "host-a": LAUNCH_CONCURRENCY,
    "host-b": LAUNCH_CONCURRENCY,
  });
  assertEquals(mostOverall, 2 * LAUNCH_CONCURRENCY, "the hosts' windows were open together");
});
