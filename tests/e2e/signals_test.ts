/**
 * End to end: every way a run can end cleans up. The terminal running `tm` closes (SIGHUP, and
 * every later write to it fails), SIGQUIT, stdout and stderr a pipe nobody reads any more — each
 * ends with nothing left behind: no container or Redis container on either host, no process
 * tm started, and a log file that tells what happened.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  awaitGone,
  type LogLine,
  processesOfRun,
  sshClientEnds,
  type Workspace,
  workspace,
} from "../support/e2e.ts";
import { runInTerminal } from "../support/terminal.ts";
import { until } from "../support/until.ts";

/** A two-host run whose timeline waits a minute after both peers connected. */
function twoPeerConfig(ws: Workspace, extra: Record<string, unknown> = {}) {
  return ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
    { time: 60, peer: "near", command: "pull" },
  ], extra);
}

/** The first line of the log file matching `found`, once written (lines come as events do). */
function logLineWhen(ws: Workspace, found: (line: LogLine) => boolean): Promise<LogLine> {
  return until("a line in the log file", async () => (await ws.logLines()).find(found), 60_000);
}

/** Both peers connected: the run is in its timeline, every container is up. */
async function bothConnected(ws: Workspace): Promise<void> {
  for (const peer of ["near", "far"]) {
    await logLineWhen(
      ws,
      (l) => l.source === peer && l.tag === "STATUS" && /^connected/.test(l.text),
    );
  }
}

/** Asserts that nothing the run started is left: containers, Redis, processes. */
async function assertNothingLeft(ws: Workspace, ends: string[]) {
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  const left = await processesOfRun(ws.tmpDir, ends);
  const stuck = await awaitGone(left.map((p) => p.pid));
  assertEquals(left.filter((p) => stuck.includes(p.pid)), [], "processes tm started outlived it");
}

for (const view of ["console", "tui"] as const) {
  Deno.test(`tm (${view}) whose terminal closes during the timeline takes SIGHUP as a stop, exits 130 and leaves nothing behind [integration: testbed, tmux]`, async () => {
    await using ws = await workspace(`sighup-${view}`);
    const config = await twoPeerConfig(ws);
    await using terminal = await runInTerminal(
      ws.command(view === "tui" ? [config, "--tui"] : [config]),
    );
    const pid = await terminal.pid();
    await bothConnected(ws).catch(async (error) => {
      throw new Error(`${error.message}; the terminal shows:\n${await terminal.screen()}`);
    });
    const ends = await sshClientEnds(pid, ws.bed);
    assertEquals(ends.length, 2, `one SSH connection per host: ${ends}`);

    await terminal.hangUp();
    const code = await terminal.exitCode();

    const log = await ws.logLines();
    const text = log.map((l) => `${l.source} ${l.tag} ${l.text}`).join("\n");
    assertEquals(code, 130, text);
    assert(log.some((l) => l.tag === "TRACE" && l.text.includes("SIGHUP")), text);
    // SIGHUP stops gracefully: both peers were told to shut down and stopped.
    for (const peer of ["near", "far"]) {
      assert(
        log.some((l) => l.source === peer && l.tag === "STATUS" && /^stopped/.test(l.text)),
        text,
      );
    }
    const result = log.find((l) => l.tag === "RESULT");
    assert(result?.text.startsWith("interrupted (exit 130)"), text);
    await assertNothingLeft(ws, ends);
  });
}

Deno.test("tm on SIGQUIT cleans up at once without waiting for peers, exits 130 and leaves nothing behind [integration: testbed]", async () => {
  await using ws = await workspace("sigquit");
  const shutdownTimeout = 120;
  const config = await twoPeerConfig(ws, {
    timeout: { startup: 30, shutdown: shutdownTimeout },
    peer_environment: { REF_PEER_IGNORE_SHUTDOWN: "1" },
  });
  const tm = ws.start([config]);
  await tm.waitFor(/^\[.*\] far\s+< connected/);
  const ends = await sshClientEnds(tm.pid, ws.bed);
  tm.kill("SIGQUIT");
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 130, output);
  assert(/^INTERRUPTED/m.test(result.stdout), output);
  const log = await ws.logLines();
  assert(
    log.some((l) => l.tag === "TRACE" && l.text.includes("SIGQUIT: cleaning up at once")),
    output,
  );
  // At once: no shutdown was sent (peers that ignore it would have held the run for 120 s).
  assert(!log.some((l) => l.tag === "SENT" && l.text === "shutdown"), "no graceful shutdown");
  const finished = log.find((l) => l.tag === "RESULT");
  assert(finished && finished.text.startsWith("interrupted (exit 130)"), JSON.stringify(finished));
  await assertNothingLeft(ws, ends);
});

Deno.test("tm whose stdout and stderr are a pipe closed after one line (tm | head -1) runs to the end, exits 0 and leaves nothing behind [integration: testbed]", async () => {
  await using ws = await workspace("closed-pipe");
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 2, peer: "far", command: "pull" },
  ]);
  // --verbose: the trace goes to stderr, which is the same closed pipe.
  const { argv, env, cwd } = ws.command([config, "--verbose"]);
  const shell = await new Deno.Command("bash", {
    args: ["-c", `"$@" 2>&1 | head -n 1; exit "\${PIPESTATUS[0]}"`, "bash", ...argv],
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(shell.stdout);
  const log = await ws.logLines();
  const text = `${stdout}\n${log.map((l) => `${l.source} ${l.tag} ${l.text}`).join("\n")}`;

  assertEquals(stdout.split("\n").filter((l) => l !== "").length, 1, text);
  assertEquals(shell.code, 0, text);
  const result = log.find((l) => l.tag === "RESULT");
  assert(result?.text.startsWith("passed (exit 0)"), text);
  assertEquals(log.filter((l) => l.tag === "SENT" && l.text.startsWith("pull")).length, 1, text);
  await assertNothingLeft(ws, []);
});
