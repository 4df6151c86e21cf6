import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { render } from "ink-testing-library";
import type { EngineEvent } from "../../../src/engine/events.ts";
import { RunStore } from "../../../src/ui/run_store.ts";
import { TuiApp } from "../../../src/ui/tui/app.tsx";
import { PLAN, scriptedRun, TIMELINE_START } from "../../support/scripted_events.ts";
import type { SteerResult } from "../../../src/engine/steering.ts";
import { completeManualEntry } from "../../../src/plan/manual_entry.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** A TUI on a fake terminal of `columns`×`rows`, fed the scripted run up to run time `until`. */
function tui(
  columns: number,
  rows: number,
  options: {
    until?: number;
    events?: EngineEvent[];
    color?: boolean;
    steer?: (input: string) => SteerResult;
  } = {},
) {
  let clock = 0;
  const store = new RunStore({ clock: () => clock });
  const stops: boolean[] = [];
  let quits = 0;
  const app = () => (
    <TuiApp
      store={store}
      onStop={(force) => stops.push(force)}
      onQuit={() => quits++}
      columns={columns}
      rows={rows}
      color={options.color ?? false}
      tickMs={0}
      {...(options.steer
        ? {
          steer: options.steer,
          complete: (input: string) => completeManualEntry(input, PLAN.map((p) => p.peer)),
        }
        : {})}
    />
  );
  const instance = render(app());
  // ink lays out at the stream's width: make the fake terminal as wide as the test's.
  Object.defineProperty(instance.stdout, "columns", { get: () => columns });
  const feed = (events: EngineEvent[]) => {
    for (const event of events) store.sink(event);
    store.flush();
  };
  const events = options.events ?? scriptedRun();
  feed(events.filter((e) => e.t <= (options.until ?? Infinity)));
  instance.rerender(app());
  return {
    store,
    stops,
    quits: () => quits,
    feed,
    /** Advances the fake clock and re-renders. */
    tick(ms: number) {
      clock += ms;
      instance.rerender(app());
    },
    frame: () => instance.lastFrame() ?? "",
    lines: () => (instance.lastFrame() ?? "").split("\n"),
    async press(...keys: string[]) {
      for (const key of keys) {
        instance.stdin.write(key);
        // ink flushes a lone Esc after 20 ms; other keys are handled at once
        await new Promise((resolve) => setTimeout(resolve, key === "\x1b" ? 40 : 0));
      }
    },
    close() {
      instance.unmount();
      instance.cleanup();
      store.dispose();
    },
  };
}

const UP = "\x1b[A";
const DOWN = "\x1b[B";
const ENTER = "\r";
const PAGE_UP = "\x1b[5~";
const ESC = "\x1b";

Deno.test("TuiApp fits 80×24: header, peers, timeline, logs and footer", () => {
  const t = tui(80, 24, { until: TIMELINE_START + 2100 });
  try {
    const lines = t.lines();
    assertEquals(lines.length, 24);
    assert(lines.every((l) => l.length <= 80), "no line wider than the terminal");
    assertEquals(
      lines[0],
      " tm · gossip-demo  timeline  00:07  redis://10.0.0.1:6390         warn 0  err 0",
    );
    assertEquals(lines.slice(1, 7), [
      "── Peers (4) 4/4 up ────────────────────────────────────────────────────────────",
      "  name  host   port  status       time last log",
      "> alice host-0 11984 connected    1s   gossip mesh: 1 peer",
      "  bob   host-1 11984 connected    1s   received push from alice: hello",
      "  carol host-0 11985 started      2s   listening on /ip4/10.0.0.10/udp/11985/qu…",
      "  dave  host-1 11985 started      2s   listening on /ip4/10.0.0.11/udp/11985/qu…",
    ]);
    assertEquals(lines.slice(7, 12), [
      "── Timeline 3/7 sent ───────────────────────────────────────────────────────────",
      "  +2.0s  alice > push|bob|hello                                   sent 7.4s +4ms",
      "▶ +4.0s  bob > restart|1                                          in 1.9s",
      "  +6.0s  carol > track|alice                                      in 4.0s",
      "  +8.0s  dave > disconnect                                        in 6.0s",
    ]);
    assertEquals(lines[12].slice(0, 16), "── Logs 54 lines");
    assertEquals(lines[22].trimEnd(), "[   7.5s] bob   info  received push from alice: hello");
    assertEquals(
      lines[23],
      " q stop · ↑↓ select · Enter filter · PgUp/PgDn scroll · / search · ? help",
    );
  } finally {
    t.close();
  }
});

Deno.test("TuiApp uses 160×48: peers and timeline side by side, every batch, more logs", () => {
  const t = tui(160, 48, { until: TIMELINE_START + 2100 });
  try {
    const lines = t.lines();
    assertEquals(lines.length, 48);
    assert(lines.every((l) => l.length <= 160));
    assert(/^── Peers \(4\) 4\/4 up ─+ ── Timeline 3\/7 sent ─+$/.test(lines[1]), lines[1]);
    const timeline = lines.slice(2, 8).map((l) => l.slice(93).trimEnd());
    assertEquals(timeline, [
      "  +0.0s  alice > connect, bob > connect              sent 5.4s +3ms",
      "  +2.0s  alice > push|bob|hello                      sent 7.4s +4ms",
      "▶ +4.0s  bob > restart|1                             in 1.9s",
      "  +6.0s  carol > track|alice                         in 4.0s",
      "  +8.0s  dave > disconnect                           in 6.0s",
      "  +10.0s alice > pull                                in 8.0s",
    ]);
    assert(lines[3].startsWith("> alice host-0 11984 connected    1s   gossip mesh: 1 peer"));
    const logTitle = lines.findIndex((l) => l.startsWith("── Logs"));
    assertEquals(logTitle, 8, "peers and timeline take the rows they need, logs the rest");
    const logs = lines.slice(logTitle + 1, 47);
    assertEquals(logs.length, 38);
    assertEquals(logs[0].trimEnd(), "[   2.8s] ship tm-peer:latest → host-0: 50%");
    assertEquals(logs.at(-1)!.trimEnd(), "[   7.5s] bob   info  received push from alice: hello");
  } finally {
    t.close();
  }
});

Deno.test("TuiApp counts down to the next batch on the steady clock", () => {
  const t = tui(80, 24, { until: TIMELINE_START + 2100 });
  try {
    assert(t.frame().includes("▶ +4.0s  bob > restart|1"));
    assert(t.frame().includes("in 1.9s"));
    t.tick(1000);
    assert(t.frame().includes("in 950 ms"), t.frame()); // due 9.4s, now 7.45s + 1s
    assert(t.lines()[0].includes("00:08"));
  } finally {
    t.close();
  }
});

Deno.test("TuiApp shows restarts, crashes and undeliverable commands in their panels", () => {
  const t = tui(100, 30, { events: scriptedRun({ outcome: "crash" }), until: 13306 });
  try {
    const frame = t.frame();
    assert(/bob\s+host-1 11984 connected ↻1/.test(frame), frame);
    assert(/dave\s+host-1 11985 exited 137/.test(frame), frame);
    assert(/\+8\.0s\s+dave > disconnect\s+✗ 1 not delivered/.test(frame), frame);
    assert(t.lines()[0].includes("warn 2  err 2"), t.lines()[0]);
  } finally {
    t.close();
  }
});

Deno.test("TuiApp shows the verdict and summary when the run finished", () => {
  const t = tui(80, 24, { events: scriptedRun({ outcome: "crash" }) });
  try {
    const lines = t.lines();
    assert(lines[0].includes("FAILED  00:14"), lines[0]);
    const result = lines.findIndex((l) => l.startsWith("── Result press q to quit"));
    assert(result > 0, t.frame());
    assertEquals(lines[result + 1].trimEnd(), "FAILED: peer dave crashed (exit code 137)");
    assert(
      lines.some((l) =>
        l.trimEnd() === "  dave   host-1  started, exited 137         0         0       1"
      ),
    );
    assert(lines[23].startsWith(" run finished · q quit"));
  } finally {
    t.close();
  }
});

Deno.test("TuiApp without colour writes no ANSI escapes, and colour does not change the layout", () => {
  const plain = tui(80, 24, { until: TIMELINE_START + 2100, color: false });
  try {
    assert(!plain.frame().includes("\x1b"), "no escape codes");
  } finally {
    plain.close();
  }
  const colored = tui(80, 24, { until: TIMELINE_START + 2100, color: true });
  try {
    // chalk only colours when it detects a colour terminal; the layout must not change either way.
    assertEquals(colored.frame().replace(ANSI, ""), tui80Plain());
  } finally {
    colored.close();
  }
});

function tui80Plain(): string {
  const t = tui(80, 24, { until: TIMELINE_START + 2100, color: false });
  try {
    return t.frame();
  } finally {
    t.close();
  }
}

Deno.test("TuiApp q asks for a graceful stop, a second q forces, later presses are ignored", async () => {
  const t = tui(80, 24, { until: TIMELINE_START + 2100 });
  try {
    await t.press("q");
    assertEquals(t.stops, [false]);
    assert(t.lines()[23].includes("stopping gracefully… press q again to force"));
    await t.press("\x03"); // Ctrl+C
    assertEquals(t.stops, [false, true]);
    assert(t.lines()[23].includes("forcing stop"));
    await t.press("q");
    assertEquals(t.stops, [false, true]);
    assertEquals(t.quits(), 0);
  } finally {
    t.close();
  }
});

Deno.test("TuiApp q after the run finished quits instead of stopping", async () => {
  const t = tui(80, 24);
  try {
    await t.press("q");
    assertEquals(t.stops, []);
    assertEquals(t.quits(), 1);
  } finally {
    t.close();
  }
});

Deno.test("TuiApp ↑/↓ select a peer and Enter filters the logs to it", async () => {
  const t = tui(80, 24, { until: TIMELINE_START + 7000 });
  try {
    await t.press(DOWN, DOWN);
    assert(t.lines().some((l) => l.startsWith("> carol")), t.frame());
    await t.press(UP);
    assert(t.lines().some((l) => l.startsWith("> bob")), t.frame());
    await t.press(ENTER);
    const lines = t.lines();
    assert(lines.some((l) => l.startsWith("▶ bob")), "filter marker on the selected peer");
    const logs = lines.slice(lines.findIndex((l) => l.startsWith("── Logs")));
    assert(logs[0].includes("peer bob"), logs[0]);
    const body = logs.slice(1, -1).filter((l) => l.trim() !== "");
    assert(body.length > 0);
    assert(body.every((l) => /^\[\s*[\d.]+s\] bob /.test(l)), body.join("\n"));
    await t.press(ENTER);
    assert(!t.frame().includes("peer bob"), "Enter again shows every peer");
  } finally {
    t.close();
  }
});

Deno.test("TuiApp / searches the logs and Esc clears the search", async () => {
  const t = tui(80, 24, { until: TIMELINE_START + 7000 });
  try {
    await t.press("/", "t", "i", "m", "e", "o", "u", "t");
    assert(t.lines()[23].startsWith(" /timeout█"), t.lines()[23]);
    await t.press(ENTER);
    const lines = t.lines();
    const title = lines.find((l) => l.startsWith("── Logs"))!;
    assert(title.includes("/timeout (1)"), title);
    assert(lines.some((l) => l.includes("carol error failed to dial dave: timeout after 3000 ms")));
    assert(!lines.some((l) => l.includes("alice > connect")), "non-matching lines hidden");
    await t.press(ESC);
    assert(!t.frame().includes("/timeout"), t.frame());
    assert(t.frame().includes("── Logs"));
  } finally {
    t.close();
  }
});

Deno.test("TuiApp PgUp scrolls back and stays anchored while lines arrive; End follows", async () => {
  const events = scriptedRun();
  const t = tui(80, 24, { until: TIMELINE_START + 2100, events });
  try {
    const logsTop = () => t.lines().findIndex((l) => l.startsWith("── Logs")) + 1;
    const firstLog = () => t.lines()[logsTop()];
    const before = firstLog();
    await t.press(PAGE_UP);
    const scrolled = firstLog();
    assert(scrolled !== before);
    assert(t.frame().includes("End follows"));
    t.feed(events.filter((e) => e.t > TIMELINE_START + 2100 && e.t <= TIMELINE_START + 6000));
    assertEquals(firstLog(), scrolled, "anchored while new lines arrive");
    await t.press("G");
    assert(!t.frame().includes("End follows"));
    assert(t.lines()[22].includes("bob   < connected"), t.lines()[22]);
  } finally {
    t.close();
  }
});

Deno.test("TuiApp ? shows the help in place of the logs; any key closes it", async () => {
  const t = tui(80, 24, { until: 1000 });
  try {
    await t.press("?");
    assert(t.frame().includes("── Help"));
    assert(t.frame().includes("stop the run gracefully; press again to force"));
    await t.press("x");
    assert(!t.frame().includes("── Help"));
    assertEquals(t.stops, []);
  } finally {
    t.close();
  }
});

/** A run of 300 peers on one host: all launched, 298 reported `connected`, 2 still starting. */
function manyPeers(): EngineEvent[] {
  const plan = Array.from({ length: 300 }, (_, i) => ({
    peer: `p${String(i).padStart(3, "0")}`,
    hostIndex: 0,
    host: "host-0",
    address: "10.0.0.10",
    port: 20_000 + i,
    image: "tm-peer:latest",
    listenAddr: `/ip4/0.0.0.0/udp/${20_000 + i}/quic-v1`,
  }));
  let t = 0;
  const events: EngineEvent[] = [
    { t, type: "run-started", test: "scale", runId: "r300", plan, timeline: [] },
    { t, type: "phase", phase: "starting" },
  ];
  for (const { peer, host } of plan) {
    events.push({ t: ++t, type: "peer-starting", peer, host });
    events.push({ t: ++t, type: "peer-launched", peer, host });
  }
  for (const { peer } of plan.slice(0, 298)) {
    events.push({ t: ++t, type: "peer-status", peer, status: "connected", previous: null });
  }
  return events;
}

Deno.test("TuiApp with 300 peers counts them by status and pages through the list with J/K", async () => {
  const t = tui(100, 30, { events: manyPeers() });
  try {
    const lines = t.lines();
    assertEquals(lines.length, 30);
    assert(lines.some((l) => l.includes("300 peers: 298 connected, 2 starting")), t.frame());
    const rows = () => t.lines().filter((l) => /^[ >] p\d{3} /.test(l));
    const shown = rows().length;
    assert(shown > 3 && shown < 300, `a window of the list: ${shown} rows`);
    assert(t.lines().some((l) => l.startsWith("> p000")), t.frame());
    await t.press("J");
    const selected = () => t.lines().find((l) => l.startsWith("> "))?.slice(2, 6);
    const afterPage = Number(selected()?.slice(1));
    assert(afterPage > 1, `J moved a page down: ${selected()}`);
    for (let presses = 0; presses < 300 && selected() !== "p299"; presses++) await t.press("J");
    assertEquals(selected(), "p299");
    assert(rows().some((l) => l.includes("starting")), "the last peers, still starting, are shown");
    assert(t.frame().includes(`${300 - shown + 1}-300`), t.frame());
    await t.press("K");
    assertEquals(Number(selected()?.slice(1)), 299 - afterPage);
  } finally {
    t.close();
  }
});

Deno.test("TuiApp shows a check live in the logs as it is decided, and every check on the final screen", () => {
  const failed = {
    index: 0,
    description: "bob reports status connected by 1 s",
    peers: ["bob"],
    passed: false,
    atMs: 1_000,
    evidence: ["bob: last status connecting"],
  };
  const decided: EngineEvent = { type: "check-decided", check: failed, t: TIMELINE_START + 1_000 };
  const events = scriptedRun().flatMap((event): EngineEvent[] =>
    event.type === "run-finished"
      ? [{
        ...event,
        verdict: "failed",
        exitCode: 1,
        reason: `check #0 failed: ${failed.description}`,
        checks: [failed],
      }]
      : [event]
  );
  const t = tui(100, 40, { events: [], until: -1 });
  try {
    t.feed([...events.filter((e) => e.t <= decided.t), decided]);
    t.tick(0);
    assert(
      t.lines().some((l) => l.includes("✗ check #0 FAILED at t=1.0s: " + failed.description)),
      t.frame(),
    );
    assert(t.lines().some((l) => l.includes("│ bob: last status connecting")), t.frame());
    t.feed(events.filter((e) => e.t > decided.t));
    t.tick(0);
    const lines = t.lines().map((l) => l.trimEnd());
    assert(lines.includes("  checks 0 passed, 1 failed"), t.frame());
    assert(lines.includes(`  ✗ #0 ${failed.description} · t=1.0s`), t.frame());
    assert(lines.includes("      bob: last status connecting"), t.frame());
  } finally {
    t.close();
  }
});

Deno.test("TuiApp : opens the steering prompt; Tab completes kinds and peers, Enter hands the entry to the run", async () => {
  const typed: string[] = [];
  const t = tui(100, 30, {
    until: TIMELINE_START + 2100,
    steer: (input) => {
      typed.push(input);
      return input.includes("nobody")
        ? { accepted: false, message: 'peer: unknown peer "nobody"' }
        : { accepted: true, message: `manual fault at t=2.1s: ${input}` };
    },
  });
  try {
    assert(t.lines().at(-1)!.includes(": steer"), t.frame());
    await t.press(":", "fault pa", "\t");
    assert(t.lines().at(-1)!.includes(":fault pa█  partition  pause"), t.frame());
    await t.press("u", "\t", "c", "\t");
    assert(t.lines().at(-1)!.includes(":fault pause carol █"), t.frame());
    await t.press(ENTER);
    assertEquals(typed, ["fault pause carol "]);
    assert(t.lines().at(-1)!.includes("✋ manual fault at t=2.1s: fault pause carol"), t.frame());
    // A refused entry stays in the prompt with the run's reason; q typed there is text.
    await t.press(":fault resume nobody\r");
    assert(
      t.lines().at(-1)!.includes(':fault resume nobody█  ✗ peer: unknown peer "nobody"'),
      t.frame(),
    );
    await t.press("q", ESC);
    assertEquals(t.stops, []);
    assertEquals(typed, ["fault pause carol ", "fault resume nobody"]);
    assert(!t.lines().at(-1)!.includes(":fault"), t.frame());
  } finally {
    t.close();
  }
});

Deno.test("TuiApp without steering opens no prompt on :", async () => {
  const t = tui(100, 30, { until: TIMELINE_START + 2100 });
  try {
    await t.press(":", "x");
    assert(!t.lines().at(-1)!.includes(":x"), t.frame());
    assert(!t.lines().at(-1)!.includes(": steer"), t.frame());
  } finally {
    t.close();
  }
});
