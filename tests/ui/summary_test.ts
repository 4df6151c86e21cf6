import { deepStrictEqual as assertEquals } from "node:assert";
import { applyEvent, foldEvents } from "../../src/ui/run_state.ts";
import { summarize } from "../../src/ui/summary.ts";
import { plainText } from "../../src/ui/styled_text.ts";
import { scriptedRun } from "../support/scripted_events.ts";

Deno.test("summarize() names the containers left on each host with the command to remove them", () => {
  const state = foldEvents(scriptedRun());
  applyEvent(state, {
    type: "left-behind",
    host: "host-1",
    containers: ["tm-gossip-demo-bob", "tm-gossip-demo-dave"],
    reason: "connection lost",
    t: 9_000,
  });
  const lines = summarize(state).map(plainText);
  assertEquals(
    lines.filter((line) => line.includes("left on")),
    [
      "  left on host-1: tm-gossip-demo-bob, tm-gossip-demo-dave " +
      "(remove: docker rm -f tm-gossip-demo-bob tm-gossip-demo-dave)",
    ],
  );
});

Deno.test("summarize() has no left-behind line when cleanup removed everything", () => {
  const lines = summarize(foldEvents(scriptedRun())).map(plainText);
  assertEquals(lines.filter((line) => line.includes("left on")), []);
});
