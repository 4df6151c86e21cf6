/**
 * End to end on a real terminal: the whole `tm` command under tmux (a private tmux server), on a
 * short test on host A — the full-screen TUI shows the run, `q` stops it gracefully, a second
 * `q` quits, the terminal is given back; and console mode on a TTY (spinners in a live area)
 * ends with a clean screen and the summary.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type Workspace, workspace } from "../support/e2e.ts";
import { exitCode, terminal, tmCommand, waitFor } from "../support/tmux_tm.ts";

/** For a probe: the screen as it was and tm's stderr, to be quoted when the wait times out. */
async function notYet(ws: Workspace, screen: string): Promise<never> {
  const stderr = await Deno.readTextFile(`${ws.dir}/stderr`).catch(() => "");
  throw new Error(`the screen was:\n${screen}\ntm's stderr:\n${stderr.slice(-2_000)}`);
}

/** ink-spinner's frames: none may stay on screen once the run ended. */
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

/** A two-peer test on host A whose timeline lasts `last` seconds. */
function shortTest(ws: Workspace, last: number) {
  const { bed } = ws;
  const image = bed.peerImage;
  return ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA)],
    peers: [
      { name: "alice", image, bootstrap: ["bob"] },
      { name: "bob", image, bootstrap: ["alice"] },
    ],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: 0, peer: "bob", command: "connect" },
      { time: 0.5, peer: "alice", command: "push|bob|hello" },
      { time: last, peer: "bob", command: "pull" },
    ],
  });
}

Deno.test("tm --tui on a real terminal shows the run, stops on q, quits on q and restores the terminal [integration: testbed, tmux]", async () => {
  await using ws = await workspace("tui");
  await shortTest(ws, 60);
  await using term = await terminal(ws, tmCommand(ws, ["--tui", "test.yaml"]));

  // The timeline is running: every panel shows the test, on the alternate screen.
  const running = await waitFor("the timeline with both peers connected", async () => {
    const text = await term.screen();
    return text.split("\n")[0].includes("  timeline  ") &&
        /^[ >] alice\s+hosta\s+\d+\s+connected/m.test(text) &&
        /^[ >] bob\s+hosta\s+\d+\s+connected/m.test(text) && text.includes("push to bob: hello")
      ? text
      : await notYet(ws, text);
  });
  assertEquals(await term.display("#{alternate_on}"), "1");
  const lines = running.split("\n");
  // The clock's value depends on how fast this machine started the run: only its shape counts.
  assert(new RegExp(`^ tm · ${ws.name}  timeline  \\d\\d:\\d\\d`).test(lines[0]), running);
  assert(lines[0].includes(`redis://127.0.0.1:${ws.redisPort}`), running);
  assert(lines.some((l) => l.startsWith("── Peers (2)")), running);
  assert(lines.some((l) => l.startsWith("── Timeline")), running);
  assert(lines.some((l) => /^▶ \+60\.0s\s+bob > pull\s+in \d/.test(l)), running);
  assert(lines.some((l) => l.startsWith("── Logs")), running);
  assert(lines.some((l) => /^\s+\+0\.5s\s+alice > push\|bob\|hello\s+sent /.test(l)), running);
  assert(lines.some((l) => l.includes("push to bob: hello")), `a peer log line:\n${running}`);

  // q: graceful stop — shutdown, the verdict stays on screen until q again.
  await term.keys("q");
  const finished = await waitFor("the verdict", async () => {
    const text = await term.screen();
    return text.includes("INTERRUPTED") && text.includes("press q to quit")
      ? text
      : await notYet(ws, text);
  });
  assert(/alice\s+hosta\s+stopped/.test(finished), finished);
  assertEquals(await exitCode(ws), undefined, "tm waits for the second q");
  await term.keys("q");
  const code = await waitFor("tm's exit", () => exitCode(ws));
  assertEquals(code, 130);
  assertEquals(await term.display("#{alternate_on}"), "0", "back on the main screen");
  assertEquals(await term.display("#{cursor_flag}"), "1", "the cursor is shown");
  assert(!(await term.screen()).includes("── Peers"), "the TUI is gone");
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  const result = (await ws.logLines()).find((l) => l.tag === "RESULT");
  assert(result?.text.startsWith("interrupted (exit 130)"), JSON.stringify(result));
});

Deno.test("tm in console mode on a real terminal ends with a clean screen and the summary [integration: testbed, tmux]", async () => {
  await using ws = await workspace("console");
  await shortTest(ws, 1);
  await using term = await terminal(ws, tmCommand(ws, ["test.yaml"]));
  // While it runs: a live area with spinners (this is a TTY, not plain lines).
  const live = await waitFor("a spinner in the live area", async () => {
    const text = await term.screen();
    return SPINNER.test(text) || await exitCode(ws) !== undefined ? text : undefined;
  });
  assert(SPINNER.test(live), `no spinner seen while running:\n${live}`);
  const code = await waitFor("tm's exit", () => exitCode(ws));
  const screen = await term.history();
  if (Deno.env.get("TM_E2E_SHOW")) console.log(screen);
  assertEquals(code, 0, screen);
  const lines = screen.trimEnd().split("\n");
  assert(!SPINNER.test(screen), `no spinner left:\n${screen}`);
  // Permanent lines above, the summary at the end.
  assert(lines.some((l) => /\] alice\s+< connected/.test(l)), screen);
  assert(lines.some((l) => /\] alice\s+> push\|bob\|hello/.test(l)), screen);
  const verdict = lines.findIndex((l) => l.startsWith("PASSED"));
  assert(verdict >= 0, screen);
  const summary = lines.slice(verdict);
  assert(summary.some((l) => /^\s+log file: e2e-console-.*\.log$/.test(l)), screen);
  assert(/^\s+run record: tm-runs\/e2e-console-/.test(lines.at(-1)!), screen);
  assert(summary.some((l) => /^\s+alice\s+hosta\s+stopped/.test(l)), screen);
  assertEquals(await term.display("#{cursor_flag}"), "1", "the cursor is shown");
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm in console mode on a real terminal stops on Ctrl+C, shows the summary and gives the cursor back [integration: testbed, tmux]", async () => {
  await using ws = await workspace("console-int");
  await shortTest(ws, 60);
  await using term = await terminal(ws, tmCommand(ws, ["test.yaml"]));
  await waitFor("the push", async () => {
    const text = await term.screen();
    return /\] alice\s+> push\|bob\|hello/.test(text) ? text : await notYet(ws, text);
  });
  await term.keys("C-c");
  const code = await waitFor("tm's exit", () => exitCode(ws));
  const screen = await term.history();
  assertEquals(code, 130, screen);
  assert(!SPINNER.test(screen), `no spinner left:\n${screen}`);
  assert(screen.split("\n").some((l) => l.startsWith("INTERRUPTED")), screen);
  assert(/^\s+bob\s+hosta\s+stopped/m.test(screen), screen);
  assertEquals(await term.display("#{cursor_flag}"), "1", "the cursor is shown");
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
