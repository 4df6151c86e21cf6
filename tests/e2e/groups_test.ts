/**
 * End to end: a test file of groups on the two-host test bed, the suite's smaller version of
 * examples/dht-1000.yaml (docs/config.md, "Groups"): 200 Go reference peers from two `count:`
 * entries, bootstrapped from selectors and random picks, a timeline and checks that name peers by
 * glob and range. The Go peer is the smallest (a static binary FROM scratch,
 * lib/go/scratch-image.sh): 200 Deno reference peers did not all start within 240 s on the 2-core
 * test machine. tm must run every peer, send each its bootstrap and commands, judge the checks on
 * the groups, record the picks in plan.json (the seed's: `tm validate` draws the same) and leave
 * no container behind.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { workspace } from "../support/e2e.ts";
import { onPath, scratchImage } from "../support/reference_peers.ts";
import { hostDocker } from "../support/testbed.ts";

const SEEDS = 4;
const NODES = 196;

Deno.test({
  name:
    "tm runs 200 peers from two groups on two hosts: selectors, random bootstrap from the seed, checks on groups [integration: testbed]",
  ignore: !onPath("go"),
  fn: async () => {
    await using ws = await workspace("groups");
    const { bed } = ws;
    const image = `tm-${ws.name}-go:peer`;
    try {
      await scratchImage("lib/go", image);
      const config = await ws.writeConfig({
        seed: 17,
        timeout: { startup: 240, shutdown: 120 },
        redis: { port: ws.redisPort, image: bed.redisImage },
        images: [image],
        hosts: [ws.host(bed.hostA), ws.host(bed.hostB)],
        peers: [
          { name: "seed", count: SEEDS, image, bootstrap: ["seed-*"] },
          { name: "node", count: NODES, image, bootstrap: { random: 2, from: "seed-*" } },
        ],
        commands: [
          { time: 0, peer: "*", command: "connect" },
          { time: 3, peer: "node-[1-50]", command: "disconnect" },
          // A status lasts until the next: shutdown right after the disconnect could overwrite
          // `disconnected` before tm reads it on a loaded machine. Reconnecting later keeps it 5 s.
          { time: 8, peer: "node-[1-50]", command: "connect" },
        ],
        expect: [
          { peer: "*", status: "connected" },
          { peer: "node-[1-50]", status: "disconnected", after: 3 },
          { peer: "seed-*", no_log: "error" },
        ],
      });
      const result = await ws.run([config, "--out", `${ws.dir}/runs`]);
      // 200 peers make a long output: the lines that say what went wrong, then the end.
      const telling = result.stdout.split("\n").filter((line) =>
        /fail|✗|timeout|halt|error|warning/i.test(line)
      );
      const context = `stdout:\n${telling.slice(0, 60).join("\n")}\n...\n` +
        `${result.stdout.slice(-1500)}\nstderr:\n${result.stderr.slice(-3000)}`;
      assertEquals(result.code, 0, context);
      assert(result.stdout.includes("seed 17"), context);

      const [run] = [...Deno.readDirSync(`${ws.dir}/runs`)];
      const plan = JSON.parse(await Deno.readTextFile(`${ws.dir}/runs/${run.name}/plan.json`)) as {
        peer: string;
        host: string;
        bootstrap: string[];
        group?: string;
      }[];
      assertEquals(plan.length, SEEDS + NODES);
      assertEquals(new Set(plan.filter((p) => p.host === "hosta").map((p) => p.peer)).size, 100);
      // The picks are the seed's: `tm validate --json` of the same file draws the same lists.
      const validated = await ws.run(["validate", "--json", config]);
      assertEquals(validated.code, 0, validated.stderr);
      assertEquals(
        (JSON.parse(validated.stdout) as typeof plan).map((p) => p.bootstrap),
        plan.map((p) => p.bootstrap),
      );
      for (const peer of plan) {
        if (peer.group === "seed") {
          assertEquals(peer.bootstrap.length, SEEDS - 1);
        } else {
          assertEquals(peer.group, "node");
          assertEquals(peer.bootstrap.length, 2);
          assert(peer.bootstrap.every((name) => /^seed-[1-4]$/.test(name)), peer.bootstrap.join());
        }
      }

      // Every peer was bootstrapped and connected; the range got its disconnect.
      const log = await ws.logLines();
      const added = new Map<string, number>();
      const statuses = new Map<string, string[]>();
      for (const line of log) {
        if (line.text.startsWith("adding bootstrap peer")) {
          added.set(line.source, (added.get(line.source) ?? 0) + 1);
        }
        if (line.tag === "STATUS") {
          statuses.set(line.source, [...statuses.get(line.source) ?? [], line.text]);
        }
      }
      for (const peer of plan) {
        assertEquals(added.get(peer.peer), peer.bootstrap.length, `${peer.peer} bootstrap lines`);
        const seen = statuses.get(peer.peer) ?? [];
        assert(seen.some((s) => /^connected\b/.test(s)), `${peer.peer}: ${seen.join(", ")}`);
      }
      for (let i = 1; i <= 50; i++) {
        assert(
          (statuses.get(`node-${i}`) ?? []).some((s) => /^disconnected\b/.test(s)),
          `node-${i}`,
        );
      }
      assertEquals(await ws.containers(), { hosta: [], hostb: [] });
    } finally {
      await hostDocker(bed.hostA, ["rmi", "-f", image]).catch(() => {});
      await hostDocker(bed.hostB, ["rmi", "-f", image]).catch(() => {});
    }
  },
});
