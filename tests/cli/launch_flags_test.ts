/**
 * The V8 flags tm is run and compiled with (docs/architecture.md, Memory): deno.json's `tm` task
 * owns them; its `compile` task and the release workflow's `deno compile` carry the same, and V8
 * takes them.
 */
import { assert, assertEquals } from "../support/assert.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { ROOT, TM_V8_FLAGS } from "../support/tm_command.ts";

const v8Flags = (command: string) =>
  command.split(/\s+/).filter((arg) => arg.startsWith("--v8-flags="));

Deno.test("deno.json's tm task caps V8's young generation (--max-semi-space-size) and its heap growth (--heap-growing-percent)", () => {
  assertEquals(TM_V8_FLAGS.length, 1);
  assert(/^--v8-flags=.*--max-semi-space-size=\d+/.test(TM_V8_FLAGS[0]), TM_V8_FLAGS[0]);
  assert(/^--v8-flags=.*--heap-growing-percent=\d+/.test(TM_V8_FLAGS[0]), TM_V8_FLAGS[0]);
});

Deno.test("the compile task and the release workflow build tm with the tm task's V8 flags", async () => {
  assertEquals(v8Flags(denoJson.tasks.compile), TM_V8_FLAGS);
  const workflow = await Deno.readTextFile(`${ROOT}.github/workflows/release.yml`);
  const compile = workflow.split("\n").filter((line) => /^\s*deno compile /.test(line));
  assertEquals(compile.length, 1, "one deno compile in the release workflow");
  assertEquals(v8Flags(compile[0]), TM_V8_FLAGS);
});

Deno.test("V8 takes the tm task's flags: tm --version runs with them", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...TM_V8_FLAGS, "-A", `${ROOT}main.ts`, "--version"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stderr), "");
  assertEquals(out.code, 0);
  assertEquals(new TextDecoder().decode(out.stdout).trim(), denoJson.version);
});
