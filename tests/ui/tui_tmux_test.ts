/**
 * The TUI on a real terminal: tmux runs `tests/support/tui_driver.ts`, which calls `startTui()`
 * and replays the scripted run; the test reads the screen, presses keys, and checks that the
 * terminal is given back (main screen, cursor shown, cooked mode).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { until } from "../support/until.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function tmux(...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("tmux", { args, stderr: "piped" })
    .output();
  if (code !== 0) throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

Deno.test("startTui() on a real terminal shows the panels, stops on q and restores the terminal [integration: tmux]", async () => {
  const session = `tm-ui-test-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = await Deno.makeTempDir({ prefix: "tm-ui-tmux-" });
  const out = `${dir}/driver.out`;
  const screen = () => tmux("capture-pane", "-p", "-t", session);
  const display = async (format: string) =>
    (await tmux("display-message", "-p", "-t", session, format)).trim();
  const recorded = async () => {
    try {
      return (await Deno.readTextFile(out)).trim().split("\n");
    } catch {
      return [];
    }
  };
  const script = [
    `cd '${ROOT}'`,
    `deno run -A tests/support/tui_driver.ts --out '${out}' --speed 1 2>'${dir}/driver.err'`,
    "echo DRIVER_EXIT=$?",
    "stty -a | grep -o -- ' -*icanon' | sed 's/^ /TTY_MODE=/'",
    "exec sleep 600",
  ].join("; ");
  await tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", script);
  try {
    // Mid-run: the timeline is running, every panel is on the alternate screen.
    const running = await until("the timeline phase", async () => {
      const text = await screen();
      const header = text.split("\n")[0];
      // A whole frame: tmux may capture the screen while ink is still painting it.
      const painted = text.split("\n").some((l) => l.startsWith(" q stop · ↑↓ select"));
      return header.includes("  timeline  ") && / connected /.test(text) && painted
        ? text
        : undefined;
    });
    assertEquals(await display("#{alternate_on}"), "1");
    const lines = running.split("\n");
    // The clock runs at real speed here: only its shape is stable on a slow machine.
    assert(/^ tm · gossip-demo {2}timeline {2}\d\d:\d\d/.test(lines[0]), running);
    assert(lines[0].includes("redis://10.0.0.1:6390"), running);
    assert(lines.some((l) => l.startsWith("── Peers (4)")), running);
    assert(lines.some((l) => /^> alice\s+host-0 11984 connected/.test(l)), running);
    assert(lines.some((l) => l.startsWith("── Timeline")), running);
    assert(lines.some((l) => /^▶ \+\d+\.0s/.test(l)), "the next batch is highlighted");
    assert(lines.some((l) => l.startsWith("── Logs")), running);
    assert(lines.some((l) => l.includes("alice > connect")), running);
    assert(lines.some((l) => l.startsWith(" q stop · ↑↓ select")), running);

    // ↓ moves the selection in raw mode (no echo, no line buffering).
    await tmux("send-keys", "-t", session, "Down");
    await until("bob selected", async () => (await screen()).includes("> bob") || undefined);

    // q: a graceful stop request; the driver ends the run, the TUI shows the result.
    await tmux("send-keys", "-t", session, "q");
    const finished = await until("the result", async () => {
      const text = await screen();
      return text.includes("INTERRUPTED") && text.includes("press q to quit") ? text : undefined;
    });
    assert(finished.includes("INTERRUPTED: stopped by the user"), finished);
    assertEquals((await recorded()).slice(0, 2), ["started", "stop false"]);

    // q again quits; the driver closes the TUI and exits.
    await tmux("send-keys", "-t", session, "q");
    const after = await until("the driver's exit", async () => {
      const text = await screen();
      return text.includes("TTY_MODE=") ? text : undefined;
    });
    assertEquals(await recorded(), ["started", "stop false", "quit", "closed"]);
    assert(after.includes("DRIVER_EXIT=0"), after);
    assert(after.includes("TTY_MODE=icanon"), `raw mode is off: ${after}`);
    assert(!after.includes("── Peers"), "the TUI is gone from the main screen");
    assertEquals(await display("#{alternate_on}"), "0");
    assertEquals(await display("#{cursor_flag}"), "1");
  } finally {
    await tmux("kill-session", "-t", session).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
