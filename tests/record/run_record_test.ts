import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import type { EngineEvent } from "../../src/engine/events.ts";
import { planRecords } from "../../src/cli/plan_table.ts";
import { peerFile, RECORD_FILES } from "../../src/record/record_files.ts";
import type { RunSummary } from "../../src/record/run_summary.ts";
import { CONFIG_BYTES_LIMIT } from "../../src/record/run_record.ts";
import {
  CONFIG_BYTES,
  openDemoRecord,
  readEventsOf,
  recordRun,
  tempDir,
} from "../support/run_records.ts";
import { recordManyPeersRun } from "../support/many_peers_run.ts";
import { REPORTERS, writeReports } from "../../src/record/reporters/reporters.ts";
import { runHistory } from "../../src/history/run_history.ts";
import { IMAGE, PLAN, scriptedRun } from "../support/scripted_events.ts";

async function summaryOf(dir: string): Promise<RunSummary> {
  return JSON.parse(await Deno.readTextFile(`${dir}/${RECORD_FILES.summary}`));
}

/** The scripted run with a host's Docker version, image IDs, and alice reporting `failed|…`. */
function enrichedRun(): EngineEvent[] {
  return scriptedRun().flatMap((event): EngineEvent[] => {
    if (event.type === "host-connected") {
      return [event, { t: event.t, type: "host-ready", host: event.host, docker: "27.5.1" }];
    }
    if (event.type === "peer-launched") return [{ ...event, imageId: `sha256:${event.peer}` }];
    if (event.type === "run-finished") {
      return [
        {
          t: event.t - 1,
          type: "peer-status",
          peer: "alice",
          status: "failed",
          address: "no route",
          previous: "stopped",
        },
        {
          ...event,
          verdict: "failed",
          exitCode: 1,
          peers: event.peers.map((p) =>
            p.peer === "alice" ? { ...p, status: "failed", failure: "no route" } : p
          ),
        },
      ];
    }
    return [event];
  });
}

Deno.test("openRunRecord writes config.yaml byte for byte, plan.json, and a summary.json with every peer's outcome", async () => {
  await using dir = await tempDir();
  const record = await recordRun(dir.path, enrichedRun());
  assertEquals(await Deno.readFile(`${record.dir}/${RECORD_FILES.config}`), CONFIG_BYTES);
  assertEquals(
    JSON.parse(await Deno.readTextFile(`${record.dir}/${RECORD_FILES.plan}`)),
    planRecords(PLAN),
  );
  const summary = await summaryOf(record.dir);
  assertEquals(
    [summary.test, summary.runId, summary.tm, summary.verdict, summary.exitCode],
    ["gossip-demo", "r-7f3a", "9.9.9", "failed", 1],
  );
  assertEquals(summary.hosts, [
    { host: "host-0", address: "10.0.0.10", docker: "27.5.1" },
    { host: "host-1", address: "10.0.0.11", docker: "27.5.1" },
  ]);
  const alice = summary.peers.find((p) => p.peer === "alice")!;
  assertEquals(alice, {
    peer: "alice",
    host: "host-0",
    port: 11984,
    image: IMAGE,
    imageId: "sha256:alice",
    restarts: 0,
    exitCode: 0,
    lastStatus: "failed",
    failure: "no route",
    crashed: false,
    killedByFault: false,
    problems: ["reported failed: no route", "did not stop (last status failed)"],
    warnings: 0,
    errors: 0,
  });
  assertEquals(summary.peers.find((p) => p.peer === "bob")!.restarts, 1);
  assertEquals(
    summary.phases.map((p) => p.phase),
    ["redis", "hosts", "images", "starting", "bootstrap", "timeline", "shutdown", "cleanup"],
  );
  assert(summary.phases.every((p) => p.durationMs >= 0));
});

Deno.test("openRunRecord writes each peer's log lines to peers/<peer>.log, one a line", async () => {
  await using dir = await tempDir();
  const events = scriptedRun();
  events.splice(events.length - 1, 0, {
    t: 100,
    type: "peer-log",
    peer: "carol",
    level: "warn",
    message: "two\nlines",
  });
  const record = await recordRun(dir.path, events);
  const carol = (await Deno.readTextFile(`${record.dir}/${peerFile("carol", "log")}`))
    .split("\n").filter(Boolean).map((line) => line.split(" ").slice(1).join(" "));
  assertEquals(carol, [
    "info listening on /ip4/10.0.0.10/udp/11985/quic-v1",
    "warn slow handshake with bob (1.2 s)",
    "error failed to dial dave: timeout after 3000 ms",
    "warn two\\nlines",
  ]);
});

Deno.test("openRunRecord gives two runs started in the same second a directory each", async () => {
  await using dir = await tempDir();
  const date = new Date(2025, 5, 1, 12, 0, 0);
  const first = await recordRun(dir.path, [], { date });
  const second = await recordRun(dir.path, [], { date });
  assertEquals(first.dir, `${dir.path}/demo-2025-06-01-12-00-00`);
  assertEquals(second.dir, `${dir.path}/demo-2025-06-01-12-00-00-2`);
});

Deno.test("openRunRecord's collectOutput writes peers/<peer>.container.log as the lines stream, each with its time", async () => {
  await using dir = await tempDir();
  const record = openDemoRecord(dir.path);
  const path = `${record.dir}/${peerFile("dave", "container.log")}`;
  const many = Array.from(
    { length: 5_000 },
    (_, i) => ({ at: "", text: `${i} ${"x".repeat(40)}` }),
  );
  let writtenBeforeTheEnd = 0;
  async function* lines() {
    yield { at: "2026-12-06T10:00:00.123456789Z", text: "line 1" };
    yield* many;
    // Written as it comes: the file already holds the lines before the stream ends.
    writtenBeforeTheEnd = (await Deno.stat(path)).size;
    yield { at: "2026-12-06T10:00:01.5Z", text: "thread 'main' panicked" };
  }
  await record.collectOutput("dave", lines());
  await record.close();
  const text = await Deno.readTextFile(path);
  assert(
    text.startsWith("2026-12-06T10:00:00.123456789Z line 1\n0 xxx"),
    text.slice(0, 100),
  );
  assert(text.endsWith(`4999 ${"x".repeat(40)}\n2026-12-06T10:00:01.5Z thread 'main' panicked\n`));
  assertEquals(text.split("\n").length, 5_003);
  assert(writtenBeforeTheEnd > 0, "nothing was written before the stream ended");
  assertEquals(record.lost, undefined);
});

Deno.test("openRunRecord's summary of an interrupted run says interrupted; a killed run leaves events.jsonl and no summary", async () => {
  await using dir = await tempDir();
  const events = scriptedRun();
  const finished = events.pop()!;
  if (finished.type !== "run-finished") throw new Error("the script ends with run-finished");
  const interrupted = await recordRun(dir.path, [
    ...events,
    { ...finished, verdict: "interrupted", exitCode: 130, reason: "interrupted (SIGINT)" },
  ], { name: "interrupted" });
  assertEquals((await summaryOf(interrupted.dir)).verdict, "interrupted");
  assertEquals((await summaryOf(interrupted.dir)).exitCode, 130);

  const killed = await recordRun(dir.path, events.slice(0, 40), { name: "killed" });
  const names = [];
  for await (const entry of Deno.readDir(killed.dir)) names.push(entry.name);
  assertEquals(names.sort(), ["config.yaml", "events.jsonl", "peers", "plan.json"]);
});

Deno.test("openRunRecord sets lost, naming the file, when summary.json cannot be written", async () => {
  await using dir = await tempDir();
  const record = openDemoRecord(dir.path);
  // The finished run's reports cannot be written over a directory of the same name.
  await Deno.mkdir(`${record.dir}/${RECORD_FILES.summary}`);
  for (const event of scriptedRun()) record.sink(event);
  await record.close();
  assert(record.lost, "lost");
  assertEquals(record.lost.path, `${record.dir}/${RECORD_FILES.summary}`);
});

Deno.test("openRunRecord says once which file of the record could not be written", async () => {
  await using dir = await tempDir();
  const events = scriptedRun();
  const finished = events.pop()!;
  const record = openDemoRecord(dir.path);
  for (const event of events) record.sink(event);
  // The report cannot be written (a directory holds its name), as on a full disk.
  await Deno.mkdir(`${record.dir}/${RECORD_FILES.junit}`);
  record.sink(finished);
  await record.close();
  const message = record.lost?.message ?? "";
  assertEquals(message.split("could not be written").length - 1, 1, message);
  assert(message.includes(RECORD_FILES.junit), message);
});

/** A tar of `files` (path → content) made by the system tar, as a stream. */
async function tarOf(
  files: Record<string, Uint8Array | string>,
): Promise<ReadableStream<Uint8Array>> {
  await using src = await tempDir();
  for (const [path, content] of Object.entries(files)) {
    const parent = path.includes("/") ? `/${path.slice(0, path.lastIndexOf("/"))}` : "";
    await Deno.mkdir(`${src.path}${parent}`, { recursive: true });
    await Deno.writeFile(
      `${src.path}/${path}`,
      typeof content === "string" ? new TextEncoder().encode(content) : content,
    );
  }
  const out = await new Deno.Command("tar", {
    args: ["-C", src.path, "-cf", "-", "."],
    stdout: "piped",
  })
    .output();
  return new Blob([out.stdout]).stream();
}

Deno.test("openRunRecord's collectConfig extracts peers/<peer>/config/, and cuts a /config past CONFIG_BYTES_LIMIT, saying so", async () => {
  await using dir = await tempDir();
  const record = openDemoRecord(dir.path);
  await record.collectConfig("alice", await tarOf({ "db/state": "ok\n", "keys/id": "secret" }));
  const big = new Uint8Array(CONFIG_BYTES_LIMIT + 4096).fill(120);
  await record.collectConfig("bob", await tarOf({ "a-small": "first", "z-big": big }));
  await record.close();
  const peers = `${record.dir}/${RECORD_FILES.peers}`;
  assertEquals(await Deno.readTextFile(`${peers}/alice/config/db/state`), "ok\n");
  assertEquals(await Deno.readTextFile(`${peers}/alice/config/keys/id`), "secret");
  await assertGone(`${peers}/alice/config.cut`);
  assert((await Deno.readTextFile(`${peers}/bob/config.cut`)).includes(`${CONFIG_BYTES_LIMIT}`));
  const kept = await Deno.stat(`${peers}/bob/config/z-big`).then((s) => s.size, () => 0);
  assert(kept < big.length, `the big file was kept whole (${kept} bytes)`);
  assertEquals(record.lost, undefined);
});

async function assertGone(path: string): Promise<void> {
  assertEquals(await Deno.stat(path).then(() => "present", () => "absent"), "absent", path);
}

Deno.test("openRunRecord's reports and peer logs, streamed from events.jsonl, equal those built from every event held in memory (300 peers, crashes, over 1 MiB of peer log lines)", async () => {
  await using tmp = await tempDir();
  const dir = await recordManyPeersRun(tmp.path, { peers: 300, logLines: 50, crashes: 7 });
  // Every event held, as the record did before it streamed: the reports rendered from them.
  const { header, events } = await readEventsOf(dir);
  const fromMemory = `${tmp.path}/from-memory`;
  await Deno.mkdir(fromMemory);
  writeReports(fromMemory, { history: runHistory(events), recorded: events, tm: header.tm });
  for (const file of REPORTERS.map((reporter) => reporter.file)) {
    const streamed = await Deno.readTextFile(`${dir}/${file}`);
    assertEquals(streamed === await Deno.readTextFile(`${fromMemory}/${file}`), true, file);
  }
  const lines = new Map<string, string>();
  let bytes = 0;
  for (const { wall, event } of events) {
    if (event.type !== "peer-log") continue;
    const line = `${wall} ${event.level} ${event.message}\n`;
    lines.set(event.peer, (lines.get(event.peer) ?? "") + line);
    bytes += line.length;
  }
  assert(
    bytes > 2 ** 20,
    `${bytes} bytes of peer log lines: past the buffer, so files are appended`,
  );
  assertEquals(lines.size, 300);
  for (const [peer, text] of lines) {
    assertEquals(await Deno.readTextFile(`${dir}/${peerFile(peer, "log")}`), text, peer);
  }
});

Deno.test("openRunRecord builds its end-of-run reports from events.jsonl as written, holding no event in memory", async () => {
  await using tmp = await tempDir();
  const record = openDemoRecord(tmp.path);
  const events = scriptedRun();
  for (const event of events.slice(0, -1)) record.sink(event);
  // The file, not memory, is what the reports read: a line changed in it (same length) shows.
  const path = `${record.dir}/${RECORD_FILES.events}`;
  const text = await Deno.readTextFile(path);
  assert(text.includes("slow handshake with bob"));
  await Deno.writeTextFile(
    path,
    text.replace("slow handshake with bob", "SLOW HANDSHAKE WITH BOB"),
  );
  record.sink(events.at(-1)!);
  await record.close();
  const carol = await Deno.readTextFile(`${record.dir}/${peerFile("carol", "log")}`);
  assert(carol.includes("warn SLOW HANDSHAKE WITH BOB"), carol);
  const junit = await Deno.readTextFile(`${record.dir}/${RECORD_FILES.junit}`);
  assert(junit.includes("SLOW HANDSHAKE WITH BOB"));
});
