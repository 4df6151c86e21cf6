/**
 * Test and bench support: the engine events of a large run, scripted as the engine emits them
 * (typed `EngineEvent`s, fed to the real record writer or view fold, never hand-written JSON).
 * `peers` peers `node-1` … `node-N` on two hosts go through every phase: launched and `started`,
 * bootstrapped, a timeline command each, `connecting`/`connected`, `logLines` log lines each
 * (some warnings), `crashes` of them crash with container output, the rest stop on `shutdown`
 * with their output collected, and the run ends with its checks and `run-finished`.
 */
import type {
  EngineEvent,
  PeerSummary,
  TimelineCommand,
  UnstampedEvent,
} from "../../src/engine/events.ts";
import { openRunRecord } from "../../src/record/run_record.ts";
import { placed } from "./scripted_events.ts";

/** Options of `manyPeersRun`. */
export interface ManyPeersOptions {
  /** Number of peers (default 1,000). */
  peers?: number;
  /** Log lines per peer (default 30): one in ten is a `warn`, the rest `info` and `debug`. */
  logLines?: number;
  /** Peers (the last ones) that crash during the timeline with exit 137 (default 0). */
  crashes?: number;
  /** Lines of container output each peer's exit carries (default 5). */
  outputLines?: number;
}

/** The name of peer `i` (1-based), as a group `node` with `count:` names it. */
export function nodeName(i: number): string {
  return `node-${i}`;
}

/** The scripted large run, events in order with non-decreasing `t`. */
export function manyPeersRun(options: ManyPeersOptions = {}): EngineEvent[] {
  const count = options.peers ?? 1_000;
  const logLines = options.logLines ?? 30;
  const crashes = options.crashes ?? 0;
  const outputLines = options.outputLines ?? 5;
  const plan = Array.from(
    { length: count },
    (_, i) => placed(nodeName(i + 1), i % 2, 12_000 + Math.floor(i / 2)),
  );
  const timeline: TimelineCommand[] = plan.map((p, i) => ({
    index: i,
    time: 1 + (i % 10) / 10,
    peer: p.peer,
    command: `find|${plan[(i + 1) % count].peer}`,
  }));
  const events: EngineEvent[] = [];
  let t = 0;
  const at = (dt: number, event: UnstampedEvent) => {
    t += dt;
    events.push({ ...event, t } as EngineEvent);
  };
  const crashed = (i: number) => i >= count - crashes;
  at(0, { type: "run-started", test: "dht-1000", runId: "r-many", plan, timeline, seed: 42 });
  at(1, { type: "phase", phase: "redis" });
  at(300, { type: "redis-ready", url: "redis://10.0.0.1:6390" });
  at(1, { type: "phase", phase: "hosts" });
  for (const host of ["host-0", "host-1"]) {
    at(100, { type: "host-connected", host, address: host, ms: 100 });
  }
  at(1, { type: "phase", phase: "images" });
  at(1, { type: "phase", phase: "starting" });
  plan.forEach((p) => {
    at(2, { type: "peer-starting", peer: p.peer, host: p.host });
    at(3, { type: "peer-launched", peer: p.peer, host: p.host, id: `c-${p.peer}` });
  });
  plan.forEach((p) => {
    at(1, {
      type: "peer-status",
      peer: p.peer,
      status: `started|/ip4/${p.address}/udp/${p.port}/quic-v1`,
      previous: null,
      address: `/ip4/${p.address}/udp/${p.port}/quic-v1`,
    });
  });
  at(1, { type: "phase", phase: "bootstrap" });
  plan.forEach((p, i) => {
    const next = plan[(i + 1) % count];
    at(0, {
      type: "command-sent",
      peer: p.peer,
      command: `peer|/ip4/${next.address}/udp/${next.port}/quic-v1`,
    });
  });
  at(1, { type: "phase", phase: "timeline" });
  const timelineStart = t;
  for (const command of timeline) {
    const due = timelineStart + command.time * 1000;
    at(Math.max(0, due - t), {
      type: "command-sent",
      peer: command.peer,
      command: command.command,
      index: command.index,
      dueMs: command.time * 1000,
      lateMs: 0,
    });
  }
  plan.forEach((p) =>
    at(1, { type: "peer-status", peer: p.peer, status: "connecting", previous: "started" })
  );
  plan.forEach((p) =>
    at(1, { type: "peer-status", peer: p.peer, status: "connected", previous: "connecting" })
  );
  for (let line = 0; line < logLines; line++) {
    plan.forEach((p, i) => {
      const level = line % 10 === 9 ? "warn" : line % 3 === 0 ? "debug" : "info";
      at(0, {
        type: "peer-log",
        peer: p.peer,
        level,
        message: `${p.peer} line ${line}: routing table has ${(i * 7 + line) % 50} entries`,
      });
    });
    at(20, { type: "trace", message: `log drain ${line}` });
  }
  const output = (p: string, why: string) =>
    Array.from({ length: outputLines }, (_, k) => `${p} output ${k + 1}/${outputLines}: ${why}`);
  plan.forEach((p, i) => {
    if (!crashed(i)) return;
    at(1, {
      type: "peer-exited",
      peer: p.peer,
      code: 137,
      expected: false,
      output: output(p.peer, "panic: routing table corrupted"),
    });
  });
  at(1, { type: "phase", phase: "shutdown" });
  plan.forEach((p, i) => {
    if (!crashed(i)) at(0, { type: "command-sent", peer: p.peer, command: "shutdown" });
  });
  plan.forEach((p, i) => {
    if (crashed(i)) return;
    at(1, { type: "peer-status", peer: p.peer, status: "stopped", previous: "connected" });
    at(1, {
      type: "peer-exited",
      peer: p.peer,
      code: 0,
      expected: true,
      output: output(p.peer, "bye"),
    });
  });
  at(1, { type: "phase", phase: "cleanup" });
  const checks = [{
    index: 0,
    description: "node-* report status connected by 30 s",
    peers: plan.map((p) => p.peer),
    passed: true,
    atMs: t - timelineStart,
  }];
  at(1, { type: "check-decided", check: checks[0] });
  const peers: PeerSummary[] = plan.map((p, i) => ({
    peer: p.peer,
    host: p.host,
    status: crashed(i) ? "connected" : "stopped",
    restarts: 0,
    warnings: Math.floor(logLines / 10),
    errors: 0,
    ...(crashed(i) ? { exitCode: 137 } : {}),
  }));
  at(100, {
    type: "run-finished",
    verdict: crashes > 0 ? "failed" : "passed",
    exitCode: crashes > 0 ? 1 : 0,
    ...(crashes > 0 ? { reason: `${crashes} peers crashed` } : {}),
    durationMs: t + 100,
    peers,
    checks,
  });
  return events;
}

/**
 * Records `manyPeersRun(options)` under `parent` with the real record writer (`openRunRecord`):
 * events as they come, each peer's container output collected at teardown as the runtime does,
 * then `run-finished`, which writes the reports. Returns the run's directory.
 */
export async function recordManyPeersRun(
  parent: string,
  options: ManyPeersOptions = {},
): Promise<string> {
  const events = manyPeersRun(options);
  const started = events[0];
  if (started.type !== "run-started") throw new Error("the script starts with run-started");
  const record = openRunRecord({
    parent,
    testName: started.test,
    config: new TextEncoder().encode(
      `name: ${started.test}\npeers:\n  - name: node\n    count: ${started.plan.length}\n`,
    ),
    plan: started.plan,
    tm: "9.9.9",
  });
  try {
    for (const event of events.slice(0, -1)) record.sink(event);
    for (const peer of started.plan) {
      // As a runtime hands it over: line by line, each with the engine's time of it.
      const lines = Array.from({ length: 20 }, (_, k) => ({
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, k)).toISOString(),
        text: `${peer.peer} stdout line ${k}`,
      }));
      await record.collectOutput(
        peer.peer,
        (async function* () {
          yield* lines;
        })(),
      );
    }
    record.sink(events.at(-1)!);
  } finally {
    await record.close();
  }
  if (record.lost) throw record.lost;
  return record.dir;
}
