/**
 * installInterruptHandlers() in a child process (the test runner itself handles SIGINT).
 */
import { assertEquals } from "../support/assert.ts";
import { lines } from "../support/process_output.ts";
import {
  ignoredSignals,
  INTERRUPT_SIGNALS,
  interruptAction,
  InterruptedError,
} from "../../src/engine/interrupt.ts";

const MODULE = new URL("../../src/engine/interrupt.ts", import.meta.url).href;

/**
 * A child that installs the handlers and prints what aborts; it also counts every signal it
 * receives (`SIGTERM #2`) so the driver knows when one arrived. Exits once `kill` aborts.
 */
const SCRIPT = `
import { installInterruptHandlers } from ${JSON.stringify(MODULE)};
const interrupts = installInterruptHandlers();
const report = (name, signal) => signal.addEventListener("abort", () => {
  console.log(name + " " + signal.reason.signal + " force=" + signal.reason.force);
  if (name === "kill") { interrupts[Symbol.dispose](); Deno.exit(0); }
});
report("hangUp", interrupts.hangUp);
report("stop", interrupts.stop);
report("kill", interrupts.kill);
const counts = { SIGINT: 0, SIGTERM: 0, SIGHUP: 0, SIGQUIT: 0 };
for (const name of Object.keys(counts)) {
  Deno.addSignalListener(name, () => console.log(name + " #" + ++counts[name]));
}
console.log("ready");
setTimeout(() => {}, 60_000);
`;

/**
 * Runs the child; each time it prints `step.after`, sends `step.send`. Returns the lines
 * reporting aborts, in order.
 */
async function interrupt(
  steps: { after: string; send: Deno.Signal }[],
  options: { nohup?: boolean } = {},
): Promise<string[]> {
  const argv = [Deno.execPath(), "eval", "--ext=js", SCRIPT];
  if (options.nohup) argv.unshift("nohup");
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reports: string[] = [];
  try {
    for await (const line of lines(child.stdout)) {
      if (/^(stop|kill|hangUp) /.test(line)) reports.push(line);
      const step = steps.find((s) => s.after === line);
      if (step) child.kill(step.send);
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
  }
  return reports;
}

Deno.test("installInterruptHandlers(): the first SIGINT aborts stop, a second one aborts kill [integration: process signals]", async () => {
  const reports = await interrupt([
    { after: "ready", send: "SIGINT" },
    { after: "SIGINT #1", send: "SIGINT" },
  ]);
  assertEquals(reports, ["stop SIGINT force=false", "kill SIGINT force=true"]);
});

Deno.test("installInterruptHandlers(): SIGTERM stops gracefully, only a SIGINT forces [integration: process signals]", async () => {
  const reports = await interrupt([
    { after: "ready", send: "SIGTERM" },
    { after: "SIGTERM #1", send: "SIGTERM" },
    { after: "SIGTERM #2", send: "SIGINT" },
  ]);
  assertEquals(reports, ["stop SIGTERM force=false", "kill SIGINT force=true"]);
});

Deno.test("installInterruptHandlers(): SIGHUP stops gracefully and aborts hangUp, a second one does not force [integration: process signals]", async () => {
  const reports = await interrupt([
    { after: "ready", send: "SIGHUP" },
    { after: "SIGHUP #1", send: "SIGHUP" },
    { after: "SIGHUP #2", send: "SIGINT" },
  ]);
  assertEquals(reports, [
    "hangUp SIGHUP force=false",
    "stop SIGHUP force=false",
    "kill SIGINT force=true",
  ]);
});

Deno.test("installInterruptHandlers() under nohup leaves SIGHUP ignored; SIGINT still stops [integration: process signals]", async () => {
  const reports = await interrupt([
    { after: "ready", send: "SIGHUP" },
    { after: "SIGHUP #1", send: "SIGINT" },
    { after: "SIGINT #1", send: "SIGINT" },
  ], { nohup: true });
  assertEquals(reports, ["stop SIGINT force=false", "kill SIGINT force=true"]);
});

Deno.test("ignoredSignals() reads the signal numbers of /proc/<pid>/status's SigIgn mask", () => {
  const status = (mask: string) => `Name:\tdeno\nSigPnd:\t0000000000000000\nSigIgn:\t${mask}\n`;
  assertEquals([...ignoredSignals(status("0000000000001001"))], [1, 13]);
  assertEquals([...ignoredSignals(status("0000000180000004"))], [3, 32, 33]);
  assertEquals([...ignoredSignals(status("0000000000000000"))], []);
  assertEquals([...ignoredSignals("Name:\tdeno\n")], []);
});

Deno.test("installInterruptHandlers(): SIGQUIT aborts kill at once, with no second signal needed [integration: process signals]", async () => {
  const reports = await interrupt([{ after: "ready", send: "SIGQUIT" }]);
  assertEquals(reports, ["kill SIGQUIT force=true"]);
});

Deno.test("interruptAction() maps each signal to stop and kill, before and after a stop", () => {
  const table = INTERRUPT_SIGNALS.map((signal) => [
    signal,
    interruptAction(signal, { stopped: false }),
    interruptAction(signal, { stopped: true }),
  ]);
  const action = (stop: boolean, kill: boolean) => ({ stop, kill });
  assertEquals(table, [
    ["SIGINT", action(true, false), action(false, true)],
    ["SIGTERM", action(true, false), action(false, false)],
    ["SIGHUP", action(true, false), action(false, false)],
    ["SIGQUIT", action(true, true), action(false, true)],
  ]);
});

Deno.test("InterruptedError says which signal and what happens next", () => {
  assertEquals(
    [
      new InterruptedError("SIGINT", false),
      new InterruptedError("SIGINT", true),
      new InterruptedError("SIGHUP", false),
      new InterruptedError("SIGQUIT", true),
    ].map((e) => e.message),
    [
      "SIGINT (Ctrl-C): stopping gracefully",
      "SIGINT again: cleaning up at once",
      "SIGHUP (the terminal or session running tm closed): stopping gracefully",
      "SIGQUIT: cleaning up at once",
    ],
  );
});
