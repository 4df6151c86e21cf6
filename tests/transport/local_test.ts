import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { COMMAND_NOT_FOUND, LocalRemote } from "../../src/transport/local.ts";

Deno.test("LocalRemote.execute() passes argv words literally, without a shell", async () => {
  const remote = new LocalRemote();
  const hostile = `a b 'c' "d" $(echo e) \`f\` ; g\nh=i`;
  const result = await remote.execute(["printf", "%s", hostile]);
  assertEquals(result, { code: 0, stdout: hostile, stderr: "" });
  await remote.close();
});

Deno.test("LocalRemote.execute() feeds stdin and reports a non-zero exit without throwing", async () => {
  const remote = new LocalRemote();
  const echoed = await remote.execute(["cat"], { stdin: "hello\n" });
  assertEquals(echoed.stdout, "hello\n");
  const failed = await remote.execute(["sh", "-c", "echo oops >&2; exit 3"]);
  assertEquals(failed, { code: 3, stdout: "", stderr: "oops\n" });
  await remote.close();
});

Deno.test("LocalRemote.execute() reports a missing command as exit 127", async () => {
  const remote = new LocalRemote();
  const result = await remote.execute(["tm-no-such-command-here"]);
  assertEquals(result.code, COMMAND_NOT_FOUND);
  assert(result.stderr.includes("not found"));
  assertEquals(await remote.orchestratorAddress(), null);
});

Deno.test("LocalRemote.spawn() streams stdin to stdout both ways", async () => {
  const remote = new LocalRemote();
  const child = remote.spawn(["cat"]);
  const writer = child.stdin.getWriter();
  const reading = new Response(child.stdout).arrayBuffer();
  const chunk = new Uint8Array(1 << 20).fill(7);
  for (let i = 0; i < 8; i++) await writer.write(chunk);
  await writer.close();
  assertEquals((await reading).byteLength, 8 << 20);
  assertEquals(await child.status, { code: 0 });
  await child.stderr.cancel();
});

Deno.test("LocalRemote: aborting kills the command and rejects execute()", async () => {
  const remote = new LocalRemote();
  const controller = new AbortController();
  const running = remote.execute(["sleep", "30"], { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("stop")), 10);
  const error = await assertRejects(() => running, Error);
  assertEquals(error.message, "stop");
});

Deno.test("LocalRemote.close() kills spawned commands; kill() is idempotent", async () => {
  const remote = new LocalRemote();
  const child = remote.spawn(["sleep", "30"]);
  child.kill();
  child.kill();
  assertEquals(await child.status, { code: null });
  const other = remote.spawn(["sleep", "30"]);
  await remote.close();
  assertEquals(await other.status, { code: null });
  await Promise.all([
    child.stdout.cancel(),
    child.stderr.cancel(),
    other.stdout.cancel(),
    other.stderr.cancel(),
  ]);
});
