/**
 * End to end: seeded chaos across the two test bed hosts, through `tm` itself. What `tm validate`
 * lists as drawn is what the run does, in that order, and the summary says how to draw it again.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { workspace } from "../support/e2e.ts";

Deno.test("tm with fault: chaos does the faults tm validate lists, in order, undoes them, and prints the seed, exit 0 [integration: testbed]", async () => {
  await using ws = await workspace("chaos");
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
    {
      fault: "chaos",
      from: 1,
      until: 7,
      every: 1.5,
      // kill and start end to end: faults_test.ts; here what chaos draws is the point.
      kinds: ["pause", "partition", "loss"],
      peers: "*",
    },
    { time: 8, peer: "far", command: "pull" },
  ], { seed: 8812, timeout: { startup: 30, shutdown: 20 } });

  const validated = await ws.run(["validate", config]);
  assertEquals(validated.code, 0, validated.stderr);
  assert(validated.stdout.includes("rerun with seed: 8812"), validated.stdout);
  const listed = validated.stdout.split("\n")
    .map((line) => /^\s+\d+\.\d{3}s {2}(.*)$/.exec(line)?.[1])
    .filter((sentence): sentence is string => sentence !== undefined);
  assert(listed.length >= 2, `the seed draws a few faults:\n${validated.stdout}`);

  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 0, output);
  const done = (await ws.logLines())
    // Timeline faults only (they carry their `#index`), not the heal guarantee before shutdown.
    .filter((line) => line.source === "tm" && line.tag === "FAULT" && / \(#\d+ /.test(line.text))
    .map((line) => line.text.replace(/^fault /, "").replace(/ \(#.*\)$/, ""));
  assertEquals(done, listed, output);
  assert(
    /chaos drew \d+ faults from seed 8812 \(rerun with seed: 8812\)/.test(result.stdout),
    output,
  );
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
