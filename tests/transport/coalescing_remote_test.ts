import { assert, assertEquals } from "../support/assert.ts";
import { CoalescingRemote, parseBatch } from "../../src/transport/coalescing_remote.ts";
import { COMMAND_NOT_FOUND, LocalRemote } from "../../src/transport/local.ts";
import type { ExecOptions, ExecResult } from "../../src/transport/remote.ts";
import { eventually } from "../support/until.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** A LocalRemote that records the argv of every command it runs. */
class RecordingRemote extends LocalRemote {
  readonly commands: string[][] = [];
  override execute(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    this.commands.push(argv);
    return super.execute(argv, options);
  }
}

Deno.test("CoalescingRemote runs commands issued together as one script, each with its own output and exit code", async () => {
  const inner = new RecordingRemote();
  const remote = new CoalescingRemote(inner);
  const hostile = `no newline ${"\n"}then a fake marker: x:0:e\n`;
  const results = await Promise.all([
    remote.execute(["printf", "%s", hostile]),
    remote.execute(["sh", "-c", "echo out; echo err >&2; exit 3"]),
    remote.execute(["tm-no-such-command-here"]),
    remote.execute(["printf", ""]),
  ]);
  assertEquals(inner.commands.length, 1);
  assertEquals(inner.commands[0].slice(0, 2), ["sh", "-c"]);
  assertEquals(results[0], { code: 0, stdout: hostile, stderr: "" });
  assertEquals(results[1], { code: 3, stdout: "out\n", stderr: "err\n" });
  assertEquals(results[2].code, COMMAND_NOT_FOUND);
  assert(results[2].stderr.includes("not found"), results[2].stderr);
  assertEquals(results[3], { code: 0, stdout: "", stderr: "" });
  await remote.close();
});

Deno.test("CoalescingRemote sends a lone command as it is and commands of later ticks separately", async () => {
  const inner = new RecordingRemote();
  const remote = new CoalescingRemote(inner);
  assertEquals(await remote.execute(["printf", "a"]), { code: 0, stdout: "a", stderr: "" });
  await remote.execute(["printf", "b"]);
  assertEquals(inner.commands, [["printf", "a"], ["printf", "b"]]);
  await remote.close();
});

Deno.test("CoalescingRemote splits commands beyond maxBatch into further scripts, results in order", async () => {
  const inner = new RecordingRemote();
  const remote = new CoalescingRemote(inner, { maxBatch: 4, parallel: 2 });
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => remote.execute(["printf", "%s", String(i)])),
  );
  assertEquals(results.map((r) => r.stdout), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  assertEquals(inner.commands.length, 3);
  await remote.close();
});

Deno.test("CoalescingRemote: an aborted caller of a sent script settles when the script ends, the others get their results", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const remote = new CoalescingRemote(new LocalRemote());
    const abort = new AbortController();
    // Each command waits for `go`, so the abort lands while the script runs, however slow.
    const gate = `while [ ! -e "${dir}/go" ]; do sleep 0.01; done`;
    const aborted = remote.execute(
      ["sh", "-c", `touch "${dir}/running"; ${gate}; sleep 0.1; touch "${dir}/created"`],
      { signal: abort.signal },
    );
    const other = remote.execute(["sh", "-c", `${gate}; printf done`]);
    await eventually("the script runs", () => exists(`${dir}/running`));
    abort.abort(new Error("gave up"));
    await Deno.writeTextFile(`${dir}/go`, "");
    const reason = await aborted.then(() => null, (error: Error) => error.message);
    assertEquals(reason, "gave up");
    // Settled only once what it started is over: its file exists by then.
    assert(await exists(`${dir}/created`));
    assertEquals((await other).stdout, "done");
    await remote.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CoalescingRemote never sends a command aborted while queued", async () => {
  const inner = new RecordingRemote();
  const remote = new CoalescingRemote(inner);
  const abort = new AbortController();
  const aborted = remote.execute(["printf", "a"], { signal: abort.signal });
  const kept = remote.execute(["printf", "b"]);
  abort.abort(new Error("gave up"));
  assertEquals(await aborted.then(() => null, (error: Error) => error.message), "gave up");
  assertEquals((await kept).stdout, "b");
  assertEquals(inner.commands, [["printf", "b"]]);
  await remote.close();
});

Deno.test("parseBatch leaves a command whose markers are missing without a result", () => {
  const out = "t:0:o\nhello\n\nt:0:e\n\nt:0:c:0\nt:1:o\ncut short";
  assertEquals(parseBatch(out, "t", 2), [{ code: 0, stdout: "hello\n", stderr: "" }, undefined]);
});

Deno.test("CoalescingRemote's script runs at most `parallel` commands at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const remote = new CoalescingRemote(new LocalRemote(), { parallel: 2 });
    // Each command counts the others running, then stays a moment.
    const probe = `n=$(ls "${dir}" | wc -l); touch "${dir}/$$"; sleep 0.2; rm "${dir}/$$"; echo $n`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => remote.execute(["sh", "-c", probe])),
    );
    const others = results.map((r) => Number(r.stdout.trim()));
    assertEquals(results.map((r) => r.code), [0, 0, 0, 0, 0, 0]);
    assert(Math.max(...others) <= 1, `at most one other running: ${others}`);
    await remote.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CoalescingRemote holds commands issued while maxScripts are in flight for the next script", async () => {
  const dir = await Deno.makeTempDir();
  const inner = new RecordingRemote();
  const remote = new CoalescingRemote(inner, { maxScripts: 1 });
  // The first script holds its slot until `go` exists: the later commands surely find it busy.
  const first = Promise.all([
    remote.execute(["sh", "-c", `while [ ! -e "${dir}/go" ]; do sleep 0.01; done; printf a`]),
    remote.execute(["printf", "b"]),
  ]);
  const nextTick = () => new Promise((resolve) => setTimeout(resolve, 0));
  await nextTick();
  const later = Promise.all(["c", "d", "e"].map((x) => remote.execute(["printf", x])));
  await nextTick();
  const next = remote.execute(["printf", "f"]);
  await Deno.writeTextFile(`${dir}/go`, "");
  assertEquals((await first).map((r) => r.stdout), ["a", "b"]);
  assertEquals((await later).map((r) => r.stdout), ["c", "d", "e"]);
  assertEquals((await next).stdout, "f");
  assertEquals(inner.commands.length, 2, "c, d, e and f waited and went out together");
  await remote.close();
  await Deno.remove(dir, { recursive: true });
});
