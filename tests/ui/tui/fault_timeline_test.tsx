import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { render } from "ink-testing-library";
import type { EngineEvent } from "../../../src/engine/events.ts";
import { RunStore } from "../../../src/ui/run_store.ts";
import { TuiApp } from "../../../src/ui/tui/app.tsx";
import { placed } from "../../support/scripted_events.ts";

const PLAN = [placed("alice", 0, 1), placed("bob", 0, 2)];

Deno.test("TuiApp marks fault entries in the timeline with ⚡, and a failed one as not done", () => {
  const events: EngineEvent[] = [
    {
      t: 0,
      type: "run-started",
      test: "faults",
      runId: "r",
      plan: PLAN,
      timeline: [{ index: 0, time: 0, peer: "alice", command: "connect" }],
      faults: [
        { index: 1, time: 1, fault: "pause", peers: ["bob"] },
        {
          index: 2,
          time: 2,
          fault: "partition",
          peers: ["alice", "bob"],
          groups: [["alice"], [
            "bob",
          ]],
        },
      ],
    },
    { t: 10, type: "phase", phase: "timeline" },
    {
      t: 1_020,
      type: "fault-applied",
      action: { fault: "pause", peers: ["bob"] },
      index: 1,
      dueMs: 1_000,
      lateMs: 10,
    },
    {
      t: 2_030,
      type: "fault-failed",
      action: { fault: "partition", peers: ["alice", "bob"], groups: [["alice"], ["bob"]] },
      index: 2,
      dueMs: 2_000,
      reason: "hosta: tc: not found",
      targetGone: false,
    },
  ];
  const store = new RunStore({ clock: () => 2_100 });
  const app = () => (
    <TuiApp
      store={store}
      onStop={() => {}}
      onQuit={() => {}}
      columns={120}
      rows={30}
      color={false}
      tickMs={0}
    />
  );
  const instance = render(app());
  Object.defineProperty(instance.stdout, "columns", { get: () => 120 });
  for (const event of events) store.sink(event);
  store.flush();
  instance.rerender(app());
  const lines = (instance.lastFrame() ?? "").split("\n");
  const pause = lines.find((line) => line.includes("⚡ pause bob"));
  const partition = lines.find((line) => line.includes("⚡ partition alice | bob"));
  assert(pause, lines.join("\n"));
  assert(partition, lines.join("\n"));
  assert(/sent 1\.0s/.test(pause), pause);
  assert(/✗ 1 failed/.test(partition), partition);
  assertEquals(
    lines.filter((line) => line.includes("fault partition alice | bob failed")).length,
    1,
  );
  instance.unmount();
});
