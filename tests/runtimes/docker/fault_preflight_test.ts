import { assert, assertEquals } from "../../support/assert.ts";
import { needsNetworkTools, parseProblems } from "../../../src/runtimes/docker/fault_preflight.ts";

Deno.test("needsNetworkTools is false for faults that are docker operations only", () => {
  assertEquals(needsNetworkTools(new Set(["pause", "resume", "kill", "start"])), false);
  assertEquals(needsNetworkTools(new Set(["kill", "heal"])), true);
});

Deno.test("parseProblems names each missing tool with its Debian package and the faults needing it", () => {
  const problems = parseProblems("missing tc\nmissing nsenter\n", ["delay", "partition"], [
    "delay",
  ]);
  assertEquals(problems.map((p) => p.tool), ["tc", "nsenter"]);
  assert(problems[0].message.includes("Debian package iproute2"), problems[0].message);
  assert(problems[1].message.includes("util-linux"), problems[1].message);
  assert(problems[0].message.includes("delay, partition"), problems[0].message);
});

Deno.test("parseProblems reports a kernel without netem, a refused namespace and a sudo asking a password", () => {
  const problems = parseProblems(
    [
      "kernel sch_netem Error: Specified qdisc kind is unknown.",
      "denied unshare unshare: unshare failed: Operation not permitted",
      "denied sudo the user is not root and sudo -n asks for a password",
    ].join("\n"),
    ["delay"],
    ["delay"],
  );
  assertEquals(problems.map((p) => p.tool), ["sch_netem", "unshare", "sudo"]);
  assert(problems[0].message.includes("modprobe sch_netem"), problems[0].message);
  assert(problems[1].message.includes("Operation not permitted"), problems[1].message);
  assert(problems[2].message.includes("sudo -n"), problems[2].message);
});

Deno.test("parseProblems finds nothing in an empty answer", () => {
  assertEquals(parseProblems("\n", ["partition"], []), []);
});
