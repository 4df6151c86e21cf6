/**
 * End to end: the run record on the two-host testbed. A run leaves `tm-runs/<name>-<stamp>/`
 * (under `--out`) whose files hold what happened: events.jsonl ends with run-finished, the
 * summary names each peer's host, port, image ID and exit, config.yaml is the file given,
 * each container's output was collected before it was removed, junit.xml parses. Ctrl-C mid-run
 * leaves a record that says interrupted; `tm report` and `tm runs` read both.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { parseEvents } from "../../src/record/events_jsonl.ts";
import { peerFile, RECORD_FILES } from "../../src/record/record_files.ts";
import type { RunSummary } from "../../src/record/run_summary.ts";
import { type Workspace, workspace } from "../support/e2e.ts";
import { hostDocker } from "../support/testbed.ts";

/** Near (host A) and far (host B); the timeline ends after `last` seconds. */
function twoPeerConfig(ws: Workspace, last: number) {
  return ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
    { time: 0.5, peer: "near", command: "push|far|hello" },
    { time: last, peer: "far", command: "pull" },
  ]);
}

/** The one run directory under `parent`. */
function onlyRun(parent: string): string {
  const runs = [...Deno.readDirSync(parent)].map((e) => e.name);
  assertEquals(runs.length, 1, runs.join());
  return `${parent}/${runs[0]}`;
}

async function readSummary(dir: string): Promise<RunSummary> {
  return JSON.parse(await Deno.readTextFile(`${dir}/${RECORD_FILES.summary}`));
}

Deno.test("tm writes a run record whose files hold the run: events, summary, config, container output, JUnit; tm report and tm runs read it [integration: testbed]", async () => {
  await using ws = await workspace("record");
  const config = await twoPeerConfig(ws, 1.5);
  const out = `${ws.dir}/records`;
  const result = await ws.run([config, "--out", out]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 0, output);
  const dir = onlyRun(out);
  assert(dir.split("/").at(-1)!.startsWith(`${ws.name}-`), dir);
  assert(result.stdout.includes(`run record: ${dir}`), output);

  const eventsPath = `${dir}/${RECORD_FILES.events}`;
  const { events, truncated } = parseEvents(await Deno.readTextFile(eventsPath), eventsPath);
  assertEquals(truncated, false);
  assertEquals(events.at(-1)?.event.type, "run-finished");
  assert(events.some((r) => r.event.type === "command-sent" && r.timelineMs !== undefined));

  assertEquals(await Deno.readFile(`${dir}/${RECORD_FILES.config}`), await Deno.readFile(config));
  const plan = JSON.parse(await Deno.readTextFile(`${dir}/${RECORD_FILES.plan}`));
  assertEquals(
    plan.map((p: { peer: string; host: string }) => [p.peer, p.host]).sort(),
    [["far", "hostb"], ["near", "hosta"]],
  );

  const summary = await readSummary(dir);
  assertEquals([summary.verdict, summary.exitCode, summary.test], ["passed", 0, ws.name]);
  const hostDockers = await Promise.all([ws.bed.hostA, ws.bed.hostB].map(async (host) => {
    const version = await hostDocker(host, ["version", "--format", "{{.Server.Version}}"]);
    return version.stdout.trim();
  }));
  assertEquals(summary.hosts.map((h) => [h.host, h.docker]).sort(), [
    ["hosta", hostDockers[0]],
    ["hostb", hostDockers[1]],
  ]);
  // Each host's ID of the image it ran (tm ships the image where a host's copy differs).
  const imageIds = Object.fromEntries(
    await Promise.all([ws.bed.hostA, ws.bed.hostB].map(async (host) => {
      const inspect = ["image", "inspect", "-f", "{{.Id}}", ws.bed.peerImage];
      return [host.name, (await hostDocker(host, inspect)).stdout.trim()];
    })),
  );
  for (const peer of summary.peers) {
    assertEquals(
      [peer.image, peer.imageId, peer.lastStatus, peer.exitCode, peer.problems],
      [ws.bed.peerImage, imageIds[peer.host], "stopped", 0, []],
      peer.peer,
    );
    assert(peer.port > 0);
  }
  assert(summary.phases.some((p) => p.phase === "timeline" && p.durationMs > 0));

  for (const peer of ["near", "far"]) {
    const container = await Deno.readTextFile(`${dir}/${peerFile(peer, "container.log")}`);
    assert(container.includes(`${peer} starting: vlad-`), `${peer}: ${container}`);
    const log = await Deno.readTextFile(`${dir}/${peerFile(peer, "log")}`);
    assert(log.trim().split("\n").length > 0, `${peer}.log`);
  }

  const xml = await Deno.readTextFile(`${dir}/${RECORD_FILES.junit}`);
  assertEquals(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
  const suite = parsed.testsuites.testsuite;
  assertEquals([suite.name, suite.tests, suite.failures], [ws.name, "2", "0"]);

  // tm report rebuilds the reports from events.jsonl; tm runs lists the run.
  await Deno.remove(`${dir}/${RECORD_FILES.junit}`);
  const report = await ws.run(["report", dir]);
  assertEquals(report.code, 0, report.stderr);
  assert(report.stdout.includes(": passed (exit 0)"), report.stdout);
  assertEquals(await Deno.readTextFile(`${dir}/${RECORD_FILES.junit}`), xml);
  const runs = await ws.run(["runs", out]);
  assertEquals(runs.code, 0, runs.stderr);
  assert(
    new RegExp(`^${dir.split("/").at(-1)}\\s+\\S+ \\S+\\s+passed\\s+\\d`, "m").test(runs.stdout),
    runs.stdout,
  );
});

Deno.test("tm on Ctrl-C mid-run leaves a record that says interrupted, with every container's output [integration: testbed]", async () => {
  await using ws = await workspace("record-sigint");
  const config = await twoPeerConfig(ws, 60);
  const tm = ws.start([config]);
  await tm.waitFor(/^\[.*\] far\s+< connected/);
  tm.kill("SIGINT");
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 130, output);
  // Without --out: ./tm-runs.
  const dir = onlyRun(`${ws.dir}/tm-runs`);
  const summary = await readSummary(dir);
  assertEquals([summary.verdict, summary.exitCode], ["interrupted", 130]);
  for (const peer of ["near", "far"]) {
    const container = await Deno.readTextFile(`${dir}/${peerFile(peer, "container.log")}`);
    assert(container.includes(`${peer} starting: vlad-`), `${peer}: ${container}`);
  }
  const runs = await ws.run(["runs"]);
  assert(/\binterrupted\b/.test(runs.stdout), runs.stdout);
});

Deno.test("tm with a peer a kill fault left ended passes, and summary.json, junit.xml and the console say the same [integration: testbed]", async () => {
  await using ws = await workspace("record-killed");
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0.5, fault: "kill", peer: "far" },
    { time: 2, peer: "near", command: "pull" },
  ]);
  const out = `${ws.dir}/records`;
  const result = await ws.run([config, "--out", out]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 0, output);
  assert(/^\s+far\s+hostb\s+killed by a fault/m.test(result.stdout), output);
  const dir = onlyRun(out);
  const summary = await readSummary(dir);
  assertEquals(
    summary.peers.map((p) => [p.peer, p.killedByFault, p.problems]).sort(),
    [["far", true, []], ["near", false, []]],
  );
  const junit = await Deno.readTextFile(`${dir}/${RECORD_FILES.junit}`);
  assertEquals(/<failure/.test(junit), false, junit);
});
