/**
 * End to end: peers on different hosts reach each other at the addresses they were bootstrapped
 * with (docs/protocol.md, ADVERTISE_IP). `near` runs on host A (this machine, reached over SSH
 * on loopback), `far` on host B; each is bootstrapped with the other and runs a UDP echo
 * (`REF_PEER_UDP_ECHO=1`). Each then probes the other's published port at the address its host
 * is reached at from the other host, and the test checks that this is exactly the address its
 * `peer|...` bootstrap command carried and that the datagram came back.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { nextBasePort, workspace } from "../support/e2e.ts";

Deno.test("tm gives peers ADVERTISE_IP: a peer on each host reaches the other at the address it was bootstrapped with, over UDP [integration: testbed]", async () => {
  await using ws = await workspace("advertise");
  const { bed } = ws;
  const port = { a: nextBasePort(), b: nextBasePort() };
  // Host A is this machine: host B reaches it at the end of their link; host B at its address.
  const at = {
    near: `${bed.hostB.orchestratorAddress}:${port.a}`,
    far: `${bed.hostB.address}:${port.b}`,
  };
  const image = bed.peerImage;
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    peer_environment: { REF_PEER_UDP_ECHO: "1" },
    hosts: [
      ws.host(bed.hostA, { tags: ["a"], basePort: port.a }),
      ws.host(bed.hostB, { tags: ["b"], basePort: port.b }),
    ],
    peers: [
      { name: "near", image, runs_on: "a", bootstrap: ["far"] },
      { name: "far", image, runs_on: "b", bootstrap: ["near"] },
    ],
    commands: [
      { time: 1, peer: "near", command: `probe|${at.far}|3` },
      { time: 1, peer: "far", command: `probe|${at.near}|3` },
      { time: 4, peer: "near", command: "pull" }, // leaves the probes their time
    ],
  });
  const result = await ws.run([config]);
  const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  assertEquals(result.code, 0, context);
  const log = await ws.logLines();
  const text = log.map((l) => `${l.source} ${l.tag} ${l.text}`).join("\n");
  for (const [peer, other] of [["near", "far"], ["far", "near"]] as const) {
    // `adding bootstrap peer: <vlad> at /ip4/<ip>/udp/<port>/quic-v1`
    const bootstrapped = log.filter((l) =>
      l.source === peer && l.text.startsWith("adding bootstrap peer")
    )
      .map((l) => /\/ip4\/([^/]+)\/udp\/(\d+)\//.exec(l.text)?.slice(1).join(":"));
    assertEquals(bootstrapped, [at[other]], `${peer} is bootstrapped with ${other} at\n${text}`);
    const rtts = log.filter((l) => l.source === peer && l.text.startsWith(`rtt ${at[other]} `));
    assert(
      rtts.some((l) => /^rtt \S+ \d+(\.\d+)?$/.test(l.text)),
      `${peer} → ${other}: no datagram came back\n${text}`,
    );
  }
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
