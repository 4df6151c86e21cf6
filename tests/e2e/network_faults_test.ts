/**
 * End to end: network faults of a `tm` run on the two-host test bed, measured by the peers
 * themselves. Each reference peer runs a UDP echo (`REF_PEER_UDP_ECHO=1`) and the timeline sends
 * `probe|<ip>:<port>|1` commands, which log `rtt <ip>:<port> <ms>` or `... timeout`: the same
 * pair is probed before, during and after a fault, so its k-th rtt line belongs to phase k.
 * alice and bob run on host A, carol and dave on host B.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type LogLine, nextBasePort, type Workspace, workspace } from "../support/e2e.ts";
import { kernelHasNetem } from "../support/testbed.ts";

const PEERS = { alice: "a", bob: "a", carol: "b", dave: "b" } as const;
type Peer = keyof typeof PEERS;

const NETEM = await kernelHasNetem();

/** A workspace whose hosts' base ports are known, so the peers' addresses are. */
interface Bed {
  ws: Workspace;
  basePort: { a: number; b: number };
}

async function open(label: string): Promise<Bed & AsyncDisposable> {
  const ws = await workspace(label);
  return {
    ws,
    basePort: { a: nextBasePort(), b: nextBasePort() },
    [Symbol.asyncDispose]: () => ws[Symbol.asyncDispose](),
  };
}

/** The test's config: the four peers with their UDP echo, `commands` as the timeline. */
function writeConfig({ ws, basePort }: Bed, commands: Record<string, unknown>[]): Promise<string> {
  const { bed } = ws;
  const image = bed.peerImage;
  return ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    peer_environment: { REF_PEER_UDP_ECHO: "1" },
    hosts: [
      ws.host(bed.hostA, { tags: ["a"], basePort: basePort.a }),
      ws.host(bed.hostB, { tags: ["b"], basePort: basePort.b }),
    ],
    peers: Object.entries(PEERS).map(([name, tag]) => ({ name, image, runs_on: tag })),
    commands,
  });
}

/**
 * Where peers reach `peer`: its host's test bed address (host A as its containers and host B's
 * see it: the end of the link to host B) and its port (peers sorted by name within a tag).
 */
function addressOf({ ws, basePort }: Bed, peer: Peer): string {
  const tag = PEERS[peer];
  const index = Object.keys(PEERS).filter((p) => PEERS[p as Peer] === tag).indexOf(peer);
  const host = tag === "a" ? ws.bed.hostB.orchestratorAddress : ws.bed.hostB.address;
  return `${host}:${basePort[tag] + index}`;
}

/** `from` probes `to` once at `time`. */
function probe(bed: Bed, time: number, from: Peer, to: Peer) {
  return { time, peer: from, command: `probe|${addressOf(bed, to)}|1` };
}

/** What `from`'s probes of `to` measured, in order: a number (ms) or "timeout". */
function measured(bed: Bed, log: LogLine[], from: Peer, to: Peer): (number | "timeout")[] {
  const prefix = `rtt ${addressOf(bed, to)} `;
  return log.filter((l) => l.source === from && l.text.startsWith(prefix)).map((l) => {
    const value = l.text.slice(prefix.length);
    return value === "timeout" ? "timeout" : Number(value);
  });
}

const PAIRS: [Peer, Peer][] = [
  ["alice", "bob"], // within host A
  ["bob", "alice"],
  ["carol", "dave"], // within host B
  ["dave", "carol"],
  ["alice", "dave"], // A → B
  ["dave", "alice"], // B → A
];

Deno.test("tm partition cuts traffic both ways across hosts and within one, Redis still carries the logs, and heal restores it [integration: testbed]", async () => {
  await using bed = await open("partition");
  const { ws } = bed;
  const config = await writeConfig(bed, [
    ...PAIRS.map(([from, to]) => probe(bed, 1, from, to)),
    { time: 3, fault: "partition", groups: [["alice", "carol"], ["bob", "dave"]] },
    // A few seconds after the fault is due: it takes effect within them (one script per peer).
    ...PAIRS.map(([from, to]) => probe(bed, 7, from, to)),
    probe(bed, 7, "alice", "carol"), // one group, across hosts
    { time: 10, fault: "heal" },
    ...PAIRS.map(([from, to]) => probe(bed, 14, from, to)),
    // The run shuts down after its last entry: this one leaves the last probes their second.
    { time: 17, peer: "alice", command: "pull" },
  ]);
  const result = await ws.run([config]);
  const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  assertEquals(result.code, 0, context);
  const log = await ws.logLines();
  const all = [
    ...PAIRS.map(([from, to]) => `${from} → ${to}: ${measured(bed, log, from, to)}`),
    ...(await ws.logText()).split("\n").filter((line) => /fault|rtt/i.test(line)),
  ];
  for (const [from, to] of PAIRS) {
    const phases = measured(bed, log, from, to).map((m) => m === "timeout" ? m : "answered");
    assertEquals(phases, ["answered", "timeout", "answered"], `${from} → ${to}\n${all.join("\n")}`);
  }
  assert(typeof measured(bed, log, "alice", "carol")[0] === "number", "a group keeps its traffic");
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

/**
 * Host A's IPv4 addresses (it is this machine) that a peer on host B reaches it at: each but
 * loopback and the bridges other tests' Docker networks come and go with. The link to host B's
 * end is one; Docker's own bridge (`docker0`) and the uplink are others.
 */
async function hostAAddresses(): Promise<string[]> {
  const output = await new Deno.Command("ip", { args: ["-o", "-4", "addr", "show"] }).output();
  return [
    ...new TextDecoder().decode(output.stdout).matchAll(
      /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+([\d.]+)\//gm,
    ),
  ]
    .filter(([, device, address]) => !address.startsWith("127.") && !device.startsWith("br-"))
    .map(([, , address]) => address);
}

Deno.test("tm partition cuts a peer off every address of the other group's host, not only the one it is configured with [integration: testbed]", async () => {
  await using bed = await open("partition-addresses");
  const { ws } = bed;
  const addresses = await hostAAddresses();
  assert(addresses.includes(ws.bed.hostB.orchestratorAddress), addresses.join());
  assert(addresses.length >= 2, `host A needs a second address: ${addresses}`);
  const port = bed.basePort.a; // alice's
  const probes = (time: number) =>
    addresses.map((address) => ({ time, peer: "dave", command: `probe|${address}:${port}|1` }));
  const config = await writeConfig(bed, [
    ...probes(1),
    { time: 3, fault: "partition", groups: [["alice"], ["dave", "carol"]] },
    ...probes(7),
    { time: 10, fault: "heal" },
    ...probes(13),
    { time: 16, peer: "alice", command: "pull" }, // leaves the last probes their second
  ]);
  const result = await ws.run([config]);
  assertEquals(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  const log = await ws.logLines();
  const seen = Object.fromEntries(addresses.map((address) => {
    const prefix = `rtt ${address}:${port} `;
    return [
      address,
      log.filter((l) => l.source === "dave" && l.text.startsWith(prefix))
        .map((l) => l.text.slice(prefix.length) === "timeout" ? "timeout" : "answered"),
    ];
  }));
  // Each address reaches alice before and after, and none during the partition.
  assertEquals(
    seen,
    Object.fromEntries(addresses.map((a) => [a, ["answered", "timeout", "answered"]])),
  );
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test({
  name:
    "tm delay adds at least its ms to a peer's round trips, and heal removes it [integration: testbed, netem]",
  ignore: !NETEM,
  fn: async () => {
    await using bed = await open("delay");
    const { ws } = bed;
    const config = await writeConfig(bed, [
      probe(bed, 1, "alice", "carol"),
      { time: 2, fault: "delay", peer: "alice", ms: 200 },
      probe(bed, 5, "alice", "carol"),
      { time: 7, fault: "loss", peer: "carol", percent: 100 },
      probe(bed, 10, "alice", "carol"),
      { time: 12, fault: "heal" },
      probe(bed, 15, "alice", "carol"),
      { time: 18, peer: "alice", command: "pull" }, // leaves the last probe its second
    ]);
    const result = await ws.run([config]);
    assertEquals(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    const [before, delayed, lost, healed] = measured(bed, await ws.logLines(), "alice", "carol");
    assert(typeof before === "number" && typeof delayed === "number", `${before} ${delayed}`);
    assert(delayed >= before + 200 - 1, `delayed ${delayed} ms vs ${before} ms before`);
    assertEquals(lost, "timeout");
    assert(typeof healed === "number" && healed < 200, `after heal: ${healed}`);
  },
});

Deno.test({
  name:
    "tm with a delay planned fails before any container starts, naming the host and sch_netem, on a kernel without netem [integration: testbed]",
  ignore: NETEM,
  fn: async () => {
    await using bed = await open("no-netem");
    const { ws } = bed;
    const config = await writeConfig(bed, [
      { time: 1, fault: "delay", peer: "carol", ms: 200 },
    ]);
    const result = await ws.run([config]);
    const output = result.stdout + result.stderr;
    assert(result.code !== 0, output);
    assert(/hostb/.test(output) && output.includes("sch_netem"), output);
    const log = await ws.logLines().catch(() => [] as LogLine[]);
    assertEquals(log.filter((l) => l.tag === "STATUS"), [], "no peer started");
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  },
});
