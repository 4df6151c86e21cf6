import { assert, assertEquals } from "../support/assert.ts";
import {
  isLogged,
  LineFormatter,
  logFileName,
  LogFileWriteError,
  openLogFile,
} from "../../src/record/log_file.ts";
import { SEVERITIES } from "../../src/text/severity.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import type { PlacedPeer } from "../../src/plan/placement.ts";

const placement = (peer: string, port: number): PlacedPeer => ({
  peer,
  hostIndex: 0,
  host: "host-0",
  address: "10.0.0.1",
  port,
  image: "peer:latest",
  listenAddr: `/ip4/0.0.0.0/udp/${port}/quic-v1`,
});

const started: EngineEvent = {
  t: 0,
  type: "run-started",
  test: "demo",
  runId: "abcd1234",
  plan: [placement("alice", 11984), placement("charlotte", 11985)],
  timeline: [{ index: 0, time: 1.5, peer: "alice", command: "connect" }],
};

Deno.test("logFileName() is <name>-YYYY-MM-DD-HH-MM-SS.log in local time", () => {
  assertEquals(
    logFileName("gossip", new Date(2025, 0, 2, 3, 4, 5)),
    "gossip-2025-01-02-03-04-05.log",
  );
});

Deno.test("logFileName() replaces characters unsafe in file names", () => {
  assertEquals(
    logFileName('a/b\\c:d*e?f"g<h>i|j\nk', new Date(2025, 11, 31, 23, 59, 59)),
    "a_b_c_d_e_f_g_h_i_j_k-2025-12-31-23-59-59.log",
  );
  assertEquals(logFileName("..", new Date(2025, 0, 1)), "_-2025-01-01-00-00-00.log");
});

Deno.test("LineFormatter.format() stamps wall clock and run time and aligns peer names", () => {
  const formatter = new LineFormatter();
  const now = new Date(2025, 4, 1, 14, 3, 7, 112);
  formatter.format(started, now);
  const lines = [
    formatter.format(
      { t: 1204.4, type: "peer-log", peer: "alice", level: "info", message: "hi" },
      now,
    ),
    formatter.format({ t: 1205, type: "phase", phase: "timeline" }, now),
    formatter.format(
      {
        t: 61_000.5,
        type: "peer-status",
        peer: "charlotte",
        status: "connected",
        previous: "connecting",
      },
      now,
    ),
  ];
  assertEquals(lines, [
    "2025-05-01 14:03:07.112 [    1.204s] alice     info    hi\n",
    "2025-05-01 14:03:07.112 [    1.205s] tm        PHASE   timeline: running the timeline\n",
    "2025-05-01 14:03:07.112 [   61.001s] charlotte STATUS  connected (was connecting)\n",
  ]);
});

Deno.test("LineFormatter.format() keeps unknown peer log levels verbatim and escapes newlines", () => {
  const formatter = new LineFormatter();
  formatter.format(started, new Date());
  const line = formatter.format(
    { t: 0, type: "peer-log", peer: "alice", level: "NOTICE", message: "two\nlines" },
    new Date(2025, 0, 1),
  );
  assertEquals(line, "2025-01-01 00:00:00.000 [    0.000s] alice     NOTICE  two\\nlines\n");
});

Deno.test("LineFormatter.format() writes an unexpected exit with its output lines", () => {
  const formatter = new LineFormatter();
  formatter.format(started, new Date());
  const text = formatter.format(
    {
      t: 2_000,
      type: "peer-exited",
      peer: "alice",
      code: 3,
      expected: false,
      output: ["panic: boom", "at main"],
    },
    new Date(2025, 0, 1),
  );
  assertEquals(text.split("\n").filter(Boolean).map((l) => l.slice(37)), [
    "alice     CRASH   exited with code 3 unexpectedly",
    "alice     OUTPUT  panic: boom",
    "alice     OUTPUT  at main",
  ]);
});

Deno.test("openLogFile() writes each event as it arrives and stops after close()", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-log-file-test-" });
  try {
    const path = `${dir}/demo.log`;
    const log = openLogFile(path);
    log.sink(started);
    const afterStart = await Deno.readTextFile(path);
    assert(
      afterStart.includes("RUN     test demo: 2 peers on 1 host, 1 timeline command; run abcd1234"),
      afterStart,
    );
    assert(afterStart.includes("alice     PLANNED #0 at 1.5s: connect"), afterStart);
    log.sink({ t: 10, type: "warning", peer: "alice", message: "slow" });
    log.sink({
      t: 20,
      type: "command-sent",
      peer: "alice",
      command: "connect",
      index: 0,
      dueMs: 1_500,
      lateMs: 0.42,
    });
    log.sink({ t: 21, type: "commands-acknowledged", indexes: [0], dueMs: 1_500, ackLateMs: 0.9 });
    log.sink({
      t: 30,
      type: "run-finished",
      verdict: "passed",
      exitCode: 0,
      durationMs: 30,
      checks: [],
      peers: [{
        peer: "alice",
        host: "host-0",
        status: "stopped",
        restarts: 1,
        warnings: 2,
        errors: 0,
      }],
    });
    await log.close();
    log.sink({ t: 40, type: "trace", message: "after close" });
    await log.close();
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => l.slice(37));
    assertEquals(lines.length, 9);
    assertEquals(lines.slice(-5), [
      "alice     WARN    slow",
      "alice     SENT    connect (#0 due 1.500s late 0.42 ms)",
      "tm        ACKED   #0 (due 1.500s) acknowledged by Redis 0.90 ms late",
      "tm        RESULT  passed (exit 0) after 0.030s",
      "alice     SUMMARY on host-0: status stopped, 1 restart, 2 warnings, 0 errors",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() on a full disk (/dev/full) records the failed write in lost and writes no more", async () => {
  const log = openLogFile("/dev/full");
  assertEquals(log.lost, undefined);
  log.sink(started);
  const lost = log.lost;
  assert(lost instanceof LogFileWriteError, String(lost));
  assertEquals(lost.path, "/dev/full");
  assertEquals(
    lost.message,
    "the log file /dev/full could not be written: No space left on device (os error 28); " +
      "evidence lost",
  );
  log.sink({ t: 10, type: "trace", message: "after the failure" });
  assertEquals(log.lost, lost, "the first failure is kept");
  await log.close();
});

Deno.test("isLogged() writes tm's events at or above log_level, and always peer logs and the run's frame", () => {
  const events: EngineEvent[] = [
    started,
    { t: 1, type: "error", message: "boom" },
    { t: 2, type: "warning", message: "slow" },
    { t: 3, type: "phase", phase: "timeline" },
    { t: 4, type: "trace", message: "timeline: 1 command in 1 batch" },
    { t: 5, type: "host-connecting", host: "a", address: "10.0.0.1" },
    { t: 6, type: "trace", message: "attempt 1 failed", level: "debug" },
    { t: 7, type: "image-transfer", image: "i", host: "a", bytes: 1, total: 2, state: "progress" },
    { t: 8, type: "peer-log", peer: "alice", level: "debug", message: "peer detail" },
    {
      t: 9,
      type: "run-finished",
      verdict: "passed",
      exitCode: 0,
      durationMs: 9,
      peers: [],
      checks: [],
    },
  ];
  const logged = Object.fromEntries(
    SEVERITIES.map((level) => [level, events.filter((e) => isLogged(e, level)).map((e) => e.t)]),
  );
  assertEquals(logged, {
    error: [0, 1, 8, 9],
    warn: [0, 1, 2, 8, 9],
    info: [0, 1, 2, 3, 4, 8, 9],
    debug: [0, 1, 2, 3, 4, 5, 6, 8, 9],
    trace: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  });
});

Deno.test("openLogFile() with level warn leaves out tm's info lines and keeps the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-log-file-test-" });
  try {
    const path = `${dir}/demo.log`;
    const log = openLogFile(path, { level: "warn" });
    log.sink(started);
    log.sink({ t: 1, type: "phase", phase: "timeline" });
    log.sink({ t: 2, type: "warning", message: "slow" });
    log.sink({ t: 3, type: "peer-log", peer: "alice", level: "info", message: "hello" });
    await log.close();
    const tags = (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) =>
      l.slice(37).split(/\s+/).slice(0, 2).join(" ")
    );
    assertEquals(tags, [
      "tm RUN",
      "alice PLACED",
      "charlotte PLACED",
      "alice PLANNED",
      "tm WARN",
      "alice info",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLogFile() with fresh never writes into an existing log: the next name is -2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-log-fresh-" });
  try {
    const path = `${dir}/t-2026-01-01-00-00-00.log`;
    const first = openLogFile(path, { fresh: true });
    const second = openLogFile(path, { fresh: true });
    assertEquals([first.path, second.path], [path, `${dir}/t-2026-01-01-00-00-00-2.log`]);
    await Promise.all([first.close(), second.close()]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
