/**
 * End to end: how `tm` fails on the two-host testbed — a peer container that crashes fails the
 * run at once with its exit code and last output; a changed host key is refused; an unreachable
 * host fails before any container starts. Every failure exits 1 and leaves no container.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type Workspace, workspace } from "../support/e2e.ts";

/** A two-peer config, one peer per host, with long timeouts and a late last command. */
function twoPeers(ws: Workspace, extra: { commands?: unknown[]; hostB?: object } = {}) {
  const { bed } = ws;
  const image = bed.peerImage;
  return ws.writeConfig({
    timeout: { startup: 60, shutdown: 120 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [
      ws.host(bed.hostA, { tags: ["a"] }),
      { ...ws.host(bed.hostB, { tags: ["b"] }), ...extra.hostB },
    ],
    peers: [{ name: "near", image, runs_on: "a" }, { name: "far", image, runs_on: "b" }],
    commands: extra.commands ?? [{ time: 0, peer: "near", command: "connect" }],
  });
}

Deno.test("tm fails the run at once when a peer container crashes, naming the peer, its exit code and last output [integration: testbed]", async () => {
  await using ws = await workspace("crash");
  const config = await twoPeers(ws, {
    commands: [
      { time: 0, peer: "near", command: "connect" },
      { time: 0, peer: "far", command: "connect" },
      { time: 0.5, peer: "far", command: "exit|3" },
      { time: 90, peer: "near", command: "pull" },
    ],
  });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assert(verdict, output);
  assert(verdict.includes("far"), `the verdict names the peer: ${verdict}`);
  assert(/\b3\b/.test(verdict), `the verdict gives the exit code: ${verdict}`);
  // Its last output lines (docker logs): the reference peer echoes its log lines on stderr.
  assert(/far.*far starting: vlad-/.test(result.stdout), `the crashed peer's output:\n${output}`);
  assert(/far.*connected as vlad-/.test(result.stdout), output);
  assert(/^\s+far\s+hostb\s+.*exited 3/m.test(result.stdout), `summary row:\n${output}`);

  // At once: the crash itself ended the run, not a timeout, and the timeline went no further.
  const log = await ws.logLines();
  const crash = log.find((l) => l.source === "far" && l.tag === "CRASH");
  assert(crash?.text.includes("code 3"), JSON.stringify(crash));
  const finished = log.find((l) => l.tag === "RESULT");
  assert(finished, "the log file has the result");
  assert(finished.text.startsWith("failed (exit 1)"), JSON.stringify(finished));
  assert(!/timeout|did not (start|stop)/i.test(finished.text), JSON.stringify(finished));
  assert(!log.some((l) => l.source === "near" && l.tag === "SENT" && l.text.startsWith("pull")));
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm refuses a host whose key differs from known_hosts, naming the host and the fingerprint [integration: testbed]", async () => {
  await using ws = await workspace("hostkey");
  const { bed } = ws;
  // known_hosts where host B's address has another (freshly generated) ed25519 key.
  const keygen = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-f", `${ws.dir}/other`],
    stdout: "null",
  }).output();
  assert(keygen.success);
  const otherKey = (await Deno.readTextFile(`${ws.dir}/other.pub`)).split(" ").slice(0, 2);
  const original = await Deno.readTextFile(ws.knownHosts);
  const forged = original.split("\n").filter((l) => !l.startsWith(`${bed.hostB.address} `))
    .concat([`${bed.hostB.address} ${otherKey.join(" ")}`, ""]).join("\n");
  await Deno.writeTextFile(ws.knownHosts, forged);

  const config = await twoPeers(ws);
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  const refusal = output.split("\n").filter((l) => /host key/i.test(l));
  assert(refusal.some((l) => l.includes("hostb") && /SHA256:[A-Za-z0-9+/]{43}/.test(l)), output);
  assert(!result.stdout.includes("── starting"), `nothing started:\n${output}`);
  assert(!/near\s+< started/.test(result.stdout), output);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  assertEquals(await Deno.readTextFile(ws.knownHosts), forged, "known_hosts left as it was");
});

Deno.test("tm fails before starting any container when a host refuses the SSH connection [integration: testbed]", async () => {
  await using ws = await workspace("refused");
  const config = await twoPeers(ws, { hostB: { ssh_port: 1 } });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  assert(output.split("\n").some((l) => l.includes("hostb") && /refused/i.test(l)), output);
  assert(!result.stdout.includes("── starting"), `nothing started:\n${output}`);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm fails before starting any container when a host accepts TCP but never answers SSH [integration: testbed]", async () => {
  await using ws = await workspace("silent");
  // A black hole: accepts connections, never says a word (a hung sshd, a filtering middlebox).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const { port } = listener.addr as Deno.NetAddr;
    const config = await twoPeers(ws, { hostB: { address: "127.0.0.1", ssh_port: port } });
    const result = await ws.run([config]);
    const output = `${result.stdout}\n${result.stderr}`;

    assertEquals(result.code, 1, output);
    assert(
      output.split("\n").some((l) =>
        l.includes("hostb") && l.includes(`127.0.0.1:${port}`) && /time/i.test(l)
      ),
      `the failure names the host, its address and the timeout:\n${output}`,
    );
    assert(!result.stdout.includes("── starting"), `nothing started:\n${output}`);
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("tm fails on the startup timeout, listing the peer that never started and its last status [integration: testbed]", async () => {
  await using ws = await workspace("startup");
  const { bed } = ws;
  const image = bed.peerImage;
  const config = await ws.writeConfig({
    timeout: { startup: 4, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [
      { name: "near", image, runs_on: "a" },
      { name: "far", image, runs_on: "b", environment: { REF_PEER_NEVER_START: "1" } },
    ],
    commands: [{ time: 0, peer: "near", command: "connect" }],
  });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assert(verdict && /startup/i.test(verdict) && verdict.includes("far"), output);
  assert(!verdict.includes("near"), `only the missing peer is listed: ${verdict}`);
  assert(!result.stdout.includes("near > connect"), "the timeline never ran");
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm fails on the shutdown timeout, naming the peer that did not stop, and still removes every container [integration: testbed]", async () => {
  await using ws = await workspace("shutdown");
  const { bed } = ws;
  const image = bed.peerImage;
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 2 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [
      { name: "near", image, runs_on: "a" },
      { name: "far", image, runs_on: "b", environment: { REF_PEER_IGNORE_SHUTDOWN: "1" } },
    ],
    commands: [{ time: 0, peer: "near", command: "connect" }],
  });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assert(verdict && /shutdown/i.test(verdict) && verdict.includes("far"), output);
  assert(!verdict.includes("near"), `only the peer that did not stop is listed: ${verdict}`);
  assert(/^\s+near\s+hosta\s+stopped\b/m.test(result.stdout), output);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
