/**
 * Test support: the engine events of a realistic run, scripted. Four peers on two hosts, an image
 * pulled and shipped to both hosts, bootstrap, a timeline of seven commands (two due together), a
 * restart, peer logs with a warning and an error, shutdown, cleanup and `run-finished`.
 * `outcome: "crash"` ends differently: dave crashes during the timeline and the run fails.
 */
import type {
  EngineEvent,
  EventSink,
  PeerSummary,
  TimelineCommand,
  UnstampedEvent,
} from "../../src/engine/events.ts";
import type { PlacedPeer } from "../../src/plan/placement.ts";

export const TEST_NAME = "gossip-demo";
export const LOG_FILE = "gossip-demo-2025-06-01-12-00-00.log";
export const REDIS_URL = "redis://10.0.0.1:6390";
export const IMAGE = "tm-peer:latest";
export const IMAGE_BYTES = 24_000_000;

/** A peer placed on `host-<hostIndex>` (address 10.0.0.<hostIndex + 10>) at `port`. */
export function placed(peer: string, hostIndex: number, port: number): PlacedPeer {
  return {
    peer,
    hostIndex,
    host: `host-${hostIndex}`,
    address: `10.0.0.${hostIndex + 10}`,
    port,
    image: IMAGE,
    listenAddr: `/ip4/0.0.0.0/udp/${port}/quic-v1`,
  };
}

export const PLAN: PlacedPeer[] = [
  placed("alice", 0, 11984),
  placed("bob", 1, 11984),
  placed("carol", 0, 11985),
  placed("dave", 1, 11985),
];

export const TIMELINE: TimelineCommand[] = [
  { index: 0, time: 0, peer: "alice", command: "connect" },
  { index: 1, time: 0, peer: "bob", command: "connect" },
  { index: 2, time: 2, peer: "alice", command: "push|bob|hello" },
  { index: 3, time: 4, peer: "bob", command: "restart|1" },
  { index: 4, time: 6, peer: "carol", command: "track|alice" },
  { index: 5, time: 8, peer: "dave", command: "disconnect" },
  { index: 6, time: 10, peer: "alice", command: "pull" },
];

/** Run time the timeline starts in the script, ms. */
export const TIMELINE_START = 5400;

export interface ScriptOptions {
  /** `passed` (default) or `crash`: dave dies with exit 137 at 8.0 s into the timeline. */
  outcome?: "passed" | "crash";
}

/** The scripted run, events in order with increasing `t`. */
export function scriptedRun(options: ScriptOptions = {}): EngineEvent[] {
  const crash = options.outcome === "crash";
  const events: EngineEvent[] = [];
  const at = (t: number, event: UnstampedEvent) => events.push({ ...event, t } as EngineEvent);
  const address = (peer: string) => {
    const p = PLAN.find((x) => x.peer === peer)!;
    return `vlad-${peer}|/ip4/${p.address}/udp/${p.port}/quic-v1`;
  };

  at(0, {
    type: "run-started",
    test: TEST_NAME,
    runId: "r-7f3a",
    plan: PLAN,
    timeline: TIMELINE,
    logFile: LOG_FILE,
  });
  at(1, { type: "phase", phase: "redis" });
  at(5, { type: "trace", message: "docker run -d --name tm-r-7f3a-redis -p 6390:6379 redis:7" });
  at(400, { type: "redis-ready", url: REDIS_URL });
  at(410, { type: "phase", phase: "hosts" });
  at(420, { type: "host-connecting", host: "host-0", address: "10.0.0.10" });
  at(421, { type: "host-connecting", host: "host-1", address: "10.0.0.11" });
  at(530, { type: "host-connected", host: "host-0", address: "10.0.0.10", ms: 110 });
  at(611, { type: "host-connected", host: "host-1", address: "10.0.0.11", ms: 190 });

  at(620, { type: "phase", phase: "images" });
  at(630, { type: "image-pull", image: IMAGE, state: "started" });
  at(1800, { type: "image-pull", image: IMAGE, state: "done" });
  for (const host of ["host-0", "host-1"]) {
    at(1810, {
      type: "image-transfer",
      image: IMAGE,
      host,
      bytes: 0,
      total: IMAGE_BYTES,
      state: "started",
    });
  }
  // host-0 ships at 12 MB/s, host-1 at 8 MB/s; progress every 250 ms.
  for (let t = 2060; t <= 4810; t += 250) {
    const fast = Math.min(IMAGE_BYTES, Math.round((t - 1810) * 12_000));
    const slow = Math.min(IMAGE_BYTES, Math.round((t - 1810) * 8_000));
    if (fast < IMAGE_BYTES) {
      at(t, {
        type: "image-transfer",
        image: IMAGE,
        host: "host-0",
        bytes: fast,
        total: IMAGE_BYTES,
        state: "progress",
      });
    }
    if (slow < IMAGE_BYTES) {
      at(t + 1, {
        type: "image-transfer",
        image: IMAGE,
        host: "host-1",
        bytes: slow,
        total: IMAGE_BYTES,
        state: "progress",
      });
    }
  }
  at(3810, {
    type: "image-transfer",
    image: IMAGE,
    host: "host-0",
    bytes: IMAGE_BYTES,
    total: IMAGE_BYTES,
    state: "done",
  });
  at(4810, {
    type: "image-transfer",
    image: IMAGE,
    host: "host-1",
    bytes: IMAGE_BYTES,
    total: IMAGE_BYTES,
    state: "done",
  });

  // Starting (shifted: the script's timeline starts at TIMELINE_START).
  at(4820, { type: "phase", phase: "starting" });
  PLAN.forEach((p, i) => {
    at(4830 + i, { type: "peer-starting", peer: p.peer, host: p.host });
    at(4900 + 10 * i, {
      type: "peer-launched",
      peer: p.peer,
      host: p.host,
      id: `c0ffee${i}`.padEnd(64, "0"),
    });
  });
  const started = (t: number, peer: string, previous: string | null = null) => {
    const addr = address(peer);
    at(t, { type: "peer-status", peer, status: "started", previous, address: addr });
    at(t + 1, {
      type: "peer-log",
      peer,
      level: "info",
      message: `listening on ${addr.split("|")[1]}`,
    });
  };
  started(5050, "alice");
  started(5120, "carol");
  started(5190, "bob");
  at(5195, { type: "peer-log", peer: "dave", level: "debug", message: "loading /config/key" });
  started(5260, "dave");

  at(5300, { type: "phase", phase: "bootstrap" });
  at(5310, { type: "command-sent", peer: "bob", command: `peer|${address("alice")}` });
  at(5311, { type: "command-sent", peer: "carol", command: `peer|${address("alice")}` });
  at(5312, { type: "command-sent", peer: "dave", command: `peer|${address("bob")}` });

  at(TIMELINE_START, { type: "phase", phase: "timeline" });
  const sent = (index: number, lateMs: number) => {
    const c = TIMELINE[index];
    at(TIMELINE_START + c.time * 1000 + lateMs, {
      type: "command-sent",
      peer: c.peer,
      command: c.command,
      index,
      dueMs: c.time * 1000,
      lateMs,
    });
  };
  const status = (t: number, peer: string, s: string, previous: string) =>
    at(t, { type: "peer-status", peer, status: s, previous });
  const log = (t: number, peer: string, level: string, message: string) =>
    at(t, { type: "peer-log", peer, level, message });

  sent(0, 2);
  sent(1, 3);
  status(5420, "alice", "connecting", "started");
  status(5430, "bob", "connecting", "started");
  status(5700, "alice", "connected", "connecting");
  status(5760, "bob", "connected", "connecting");
  log(5800, "alice", "info", "gossip mesh: 1 peer");
  sent(2, 4); // 7.4 s
  log(7450, "bob", "info", "received push from alice: hello");
  log(7600, "carol", "warn", "slow handshake with bob (1.2 s)");
  sent(3, 1); // 9.4 s
  status(9420, "bob", "restarting", "connected");
  at(9421, { type: "trace", message: "bob: restart requested, delay 1 s" });
  started(10600, "bob", "restarting");
  status(10700, "bob", "connecting", "started");
  status(10950, "bob", "connected", "connecting");
  sent(4, 2); // 11.4 s
  log(11450, "carol", "error", "failed to dial dave: timeout after 3000 ms");
  for (let i = 0; i < 6; i++) {
    log(11500 + 100 * i, "alice", "debug", `gossip round ${i + 1}: 3 messages`);
  }

  if (crash) {
    at(13300, {
      type: "peer-exited",
      peer: "dave",
      code: 137,
      expected: false,
      output: ["thread 'main' panicked at src/swarm.rs:88:9:", "out of memory"],
    });
    at(13301, {
      type: "error",
      peer: "dave",
      message: "dave exited unexpectedly with code 137",
    });
    at(13305, {
      type: "command-undeliverable",
      peer: "dave",
      command: "disconnect",
      reason: "peer exited",
      index: 5,
    });
    at(13310, { type: "phase", phase: "shutdown" });
  } else {
    sent(5, 3); // 13.4 s
    status(13450, "dave", "disconnecting", "started");
    status(13500, "dave", "disconnected", "disconnecting");
    sent(6, 2); // 15.4 s
    log(15450, "alice", "info", "pulled 3 messages");
    at(15460, { type: "phase", phase: "shutdown" });
  }

  const stopPeers = crash ? ["alice", "bob", "carol"] : ["alice", "bob", "carol", "dave"];
  const t0 = crash ? 13320 : 15470;
  stopPeers.forEach((peer, i) => {
    at(t0 + i, { type: "command-sent", peer, command: "shutdown" });
  });
  stopPeers.forEach((peer, i) => {
    const t = t0 + 300 + 120 * i;
    const previous = peer === "dave" ? "disconnected" : "connected";
    status(t, peer, "stopped", previous);
    at(t + 40, { type: "peer-exited", peer, code: 0, expected: true });
  });
  at(t0 + 900, { type: "phase", phase: "cleanup" });
  at(t0 + 910, { type: "trace", message: "docker rm -f tm-r-7f3a-alice tm-r-7f3a-carol" });
  at(t0 + 1400, { type: "trace", message: "docker rm -f tm-r-7f3a-redis" });

  const summary = (peer: string, overrides: Partial<PeerSummary> = {}): PeerSummary => ({
    peer,
    host: PLAN.find((p) => p.peer === peer)!.host,
    status: "stopped",
    restarts: 0,
    warnings: 0,
    errors: 0,
    ...overrides,
  });
  const peers = [
    summary("alice"),
    summary("bob", { restarts: 1 }),
    summary("carol", { warnings: 1, errors: 1 }),
    crash ? summary("dave", { status: "started", exitCode: 137, errors: 1 }) : summary("dave"),
  ];
  at(t0 + 1500, {
    type: "run-finished",
    verdict: crash ? "failed" : "passed",
    exitCode: crash ? 1 : 0,
    reason: crash ? "peer dave crashed (exit code 137)" : undefined,
    durationMs: t0 + 1500,
    checks: [],
    peers,
  });
  // Stable: events stamped alike keep the order they were scripted in.
  return events.sort((a, b) => a.t - b.t);
}

/** Options of `replay`. */
export interface ReplayOptions {
  /** Playback speed: 1 is real time, 10 is ten times faster (default 1). */
  speed?: number;
  /** Stops the replay between events. */
  signal?: AbortSignal;
  /** Hold back `run-finished` until this resolves (e.g. to test a stop during the run). */
  beforeFinish?: () => Promise<void>;
}

/** Sends `events` to `sink` with the pauses between their `t`s (scaled by `speed`). */
export async function replay(
  events: EngineEvent[],
  sink: EventSink,
  options: ReplayOptions = {},
): Promise<void> {
  const speed = options.speed ?? 1;
  const start = performance.now();
  for (const event of events) {
    if (options.signal?.aborted) return;
    if (event.type === "run-finished" && options.beforeFinish) await options.beforeFinish();
    const wait = start + event.t / speed - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    sink(event);
  }
}
