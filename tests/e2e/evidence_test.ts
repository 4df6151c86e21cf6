/**
 * End to end: a run whose log file cannot be written any more (its disk fills up mid-run) goes
 * on and cleans up, warns at the moment the write fails, and ends FAILED with exit 1: the log
 * file is the run's evidence, and a run without it cannot pass. The disk is a real one: a tiny
 * tmpfs, tm's working directory, filled up to a few pages before the run.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { awaitGone, processesOfRun, sshClientEnds, workspace } from "../support/e2e.ts";

/** Size of the tmpfs; what the filler leaves free of it (two pages: a few dozen log lines). */
const DISK_SIZE = "256k";
const LEFT_FREE = 8192;

/** Runs a command to the end; throws with its stderr if it fails. */
async function exec(command: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(command, { args, stderr: "piped" }).output();
  if (code !== 0) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(stderr).trim()}`);
  }
}

/** Fills the file system of `dir` with `dir/filler`, then frees `free` bytes of it. */
async function fill(dir: string, free: number): Promise<void> {
  const path = `${dir}/filler`;
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(4096);
  let size = 0;
  try {
    for (;;) size += await file.write(chunk);
  } catch (error) {
    if (!(error instanceof Error) || !/No space left/.test(error.message)) throw error;
  } finally {
    file.close();
  }
  await Deno.truncate(path, size - free);
}

Deno.test("tm whose log file's disk fills up mid-run warns at once, cleans up and ends FAILED with exit 1 [integration: testbed, tmpfs]", async () => {
  await using ws = await workspace("disk-full");
  const { bed } = ws;
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
    ...Array.from(
      { length: 40 },
      (_, i) => ({ time: 1, peer: "near", command: `push|far|message ${i}` }),
    ),
    { time: 2, peer: "far", command: "pull" },
  ]);
  const disk = `${ws.dir}/disk`;
  await Deno.mkdir(disk);
  await exec("mount", ["-t", "tmpfs", "-o", `size=${DISK_SIZE}`, "tmpfs", disk]);
  try {
    await fill(disk, LEFT_FREE);
    // The run record goes beside the disk: this test is about the log file.
    const tm = ws.start([config, "--out", `${ws.dir}/tm-runs`], { cwd: disk });
    await tm.waitFor(/── starting/);
    const ends = await sshClientEnds(tm.pid, bed);
    const result = await tm.done;
    const output = `${result.stdout}\n${result.stderr}`;
    const logName = [...Deno.readDirSync(disk)].map((e) => e.name).find((n) => n.endsWith(".log"));
    assert(logName, `a log file was created in ${disk}`);

    // The moment the write failed: a warning naming the file and the OS error.
    const warning = result.stdout.split("\n").find((l) => /warning: .*the log file/.test(l));
    assert(warning, output);
    assert(warning.includes(logName) && /No space left on device/.test(warning), warning);
    // The run went on: the timeline ran and both peers stopped on shutdown.
    assert(/^\[.*\] far\s+> pull$/m.test(result.stdout), output);
    for (const peer of ["near", "far"]) {
      assert(new RegExp(`^\\[.*\\] ${peer}\\s+< stopped`, "m").test(result.stdout), output);
    }
    // The verdict: failed, because the evidence is lost; never PASSED.
    assertEquals(result.code, 1, output);
    assert(!/^PASSED/m.test(result.stdout), output);
    const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
    assert(verdict && verdict.includes(`the log file ${logName} could not be written`), output);
    assert(verdict.includes("evidence lost"), verdict);

    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
    const left = await processesOfRun(ws.tmpDir, ends);
    const stuck = await awaitGone(left.map((p) => p.pid));
    assertEquals(left.filter((p) => stuck.includes(p.pid)), [], "processes tm started outlived it");
  } finally {
    await exec("umount", [disk]);
  }
});
