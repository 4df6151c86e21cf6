import { assert, assertEquals } from "../support/assert.ts";
import {
  currentOwner,
  describeOwner,
  parseOwner,
  processState,
} from "../../src/coordination/run_owner.ts";
import { deadOwner } from "../support/run_owners.ts";

Deno.test("processState() finds this process alive and names it exactly (boot and start time)", () => {
  const owner = currentOwner("r1", "demo");
  assertEquals(owner.pid, Deno.pid);
  assert(/^[0-9a-f-]+\/\d+$/.test(owner.process), owner.process);
  assertEquals(processState(owner), "alive");
});

Deno.test("processState() calls a pid with another start time dead (a reused pid is not the run)", () => {
  assertEquals(processState(deadOwner("r1", "demo")), "dead");
});

Deno.test("processState() cannot tell about a process of another machine", () => {
  assertEquals(
    processState({ ...currentOwner("r1", "demo"), machine: "elsewhere-id" }),
    "elsewhere",
  );
  assertEquals(processState({ ...currentOwner("r1", "demo"), process: "" }), "elsewhere");
});

Deno.test("parseOwner() reads back what JSON.stringify wrote and rejects anything else", () => {
  const owner = currentOwner("r1", 'a "quoted" test');
  assertEquals(parseOwner(JSON.stringify(owner)), owner);
  assertEquals(parseOwner("not json"), undefined);
  assertEquals(parseOwner('{"runId":"r1"}'), undefined);
  assertEquals(parseOwner("null"), undefined);
});

Deno.test("describeOwner() names the run, the test, the pid and the machine", () => {
  const text = describeOwner({ ...currentOwner("ab12cd34", "demo"), hostname: "build-7", pid: 42 });
  assertEquals(text, 'run ab12cd34 of test "demo" (pid 42 on build-7)');
});
