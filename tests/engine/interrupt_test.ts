/**
 * installInterruptHandlers() in a child process (the test runner itself handles SIGINT).
 */
import { assertEquals } from "../support/assert.ts";
import { lines } from "../support/process_output.ts";

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
report("stop", interrupts.stop);
report("kill", interrupts.kill);
const counts = { SIGINT: 0, SIGTERM: 0 };
for (const name of ["SIGINT", "SIGTERM"]) {
  Deno.addSignalListener(name, () => console.log(name + " #" + ++counts[name]));
}
console.log("ready");
setTimeout(() => {}, 60_000);
`;

/**
 * Runs the child; each time it prints `step.after`, sends `step.send`. Returns the lines
 * reporting aborts, in order.
 */
async function interrupt(steps: { after: string; send: Deno.Signal }[]): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=js", SCRIPT],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reports: string[] = [];
  try {
    for await (const line of lines(child.stdout)) {
      if (line.startsWith("stop ") || line.startsWith("kill ")) reports.push(line);
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
