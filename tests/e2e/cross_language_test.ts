/**
 * End to end across the four client libraries: one test, four peers (TypeScript, Python, Go,
 * Rust reference peers, each in an image built FROM scratch by lib/<language>/scratch-image.sh
 * out of this machine's toolchain), on both testbed hosts, bootstrapping each other, pushing to
 * each other, restarting once each and shutting down cleanly.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type LogLine, workspace } from "../support/e2e.ts";
import {
  buildPeer,
  REFERENCE_PEERS,
  scratchImage,
  unavailable,
} from "../support/reference_peers.ts";
import { hostDocker } from "../support/testbed.ts";

/** Why the test cannot run here (a library not merged yet, a toolchain missing), if so. */
const missing = REFERENCE_PEERS.map(unavailable).filter((why) => why !== undefined);
if (missing.length > 0) {
  console.warn(`cross-language end to end not run: ${missing.join("; ")}`);
}

/** Statuses of `peer` in the run's log, in order. */
function statuses(log: LogLine[], peer: string): string[] {
  return log.filter((l) => l.source === peer && l.tag === "STATUS").map((l) => l.text);
}

Deno.test({
  name:
    "tm runs TypeScript, Python, Go and Rust peers together: bootstrap, push, a restart each, clean shutdown [integration: testbed]",
  ignore: missing.length > 0,
  fn: async () => {
    await using ws = await workspace("langs");
    const { bed } = ws;
    // Peer names are the languages; each bootstraps from and pushes to the next one.
    const peers = REFERENCE_PEERS.map((p, i) => ({
      ...p,
      name: p.language,
      image: `tm-${ws.name}-${p.language}:peer`,
      next: REFERENCE_PEERS[(i + 1) % REFERENCE_PEERS.length].language,
      host: i % 2 === 0 ? "a" : "b",
    }));
    try {
      // The four toolchains and their output directories are separate: build them at once.
      await Promise.all(peers.map(async (peer) => {
        await buildPeer(peer);
        await scratchImage(peer.dir, peer.image);
      }));
      const config = await ws.writeConfig({
        timeout: { startup: 60, shutdown: 20 },
        redis: { port: ws.redisPort, image: bed.redisImage },
        images: peers.map((p) => p.image),
        hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
        peers: peers.map((p) => ({
          name: p.name,
          image: p.image,
          runs_on: p.host,
          bootstrap: [p.next],
        })),
        commands: [
          ...peers.map((p) => ({ time: 0, peer: p.name, command: "connect" })),
          ...peers.map((p) => ({
            time: 1,
            peer: p.name,
            command: `push|${p.next}|hello from ${p.language}`,
          })),
          ...peers.map((p) => ({ time: 2, peer: p.name, command: "restart|1" })),
          // Well after every peer is back (a restart takes seconds on a busy machine): a
          // command queued before `started` would hide that status from tm.
          ...peers.map((p) => ({ time: 25, peer: p.name, command: "connect" })),
          ...peers.map((p) => ({ time: 26, peer: p.name, command: "pull" })),
        ],
      });

      const result = await ws.run([config]);
      const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
      assertEquals(result.code, 0, context);
      const log = await ws.logLines();
      const text = await ws.logText();

      for (const peer of peers) {
        const seen = statuses(log, peer.name);
        assertEquals(
          log.filter((l) =>
            l.source === peer.name && l.tag === "info" &&
            l.text.startsWith(`${peer.name} starting: vlad-`)
          ).length,
          2,
          `${peer.name} started twice:\n${text}`,
        );
        assert(seen.some((s) => s.startsWith("restarting")), `${peer.name} restarted`);
        assert(seen.at(-1)?.startsWith("stopped"), `${peer.name} stopped last: ${seen.at(-1)}`);
        assert(
          log.some((l) =>
            l.source === peer.name && l.text === `push to ${peer.next}: hello from ${peer.language}`
          ),
          `${peer.name} logged its push:\n${text}`,
        );
        // Bootstrap: the next peer's address info (vlad|multiaddr), before and after the restart.
        assertEquals(
          log.filter((l) =>
            l.source === peer.name && l.tag === "info" &&
            l.text.startsWith(`adding bootstrap peer: vlad-`)
          ).length,
          2,
          `${peer.name} got its bootstrap peer twice:\n${text}`,
        );
        assert(
          log.some((l) =>
            l.source === peer.name && l.tag === "EXIT" && l.text === "exited with code 0"
          ),
          `${peer.name} exit 0:\n${text}`,
        );
      }
      assert(log.some((l) => l.tag === "RESULT" && l.text.startsWith("passed (exit 0)")), text);
      assertEquals(await ws.containers(), { hosta: [], hostb: [] });
      assertEquals(await ws.leftoverTempFiles(), []);
    } finally {
      for (const peer of peers) {
        await hostDocker(bed.hostA, ["rmi", "-f", peer.image]).catch(() => {});
        await hostDocker(bed.hostB, ["rmi", "-f", peer.image]).catch(() => {});
      }
    }
  },
});
