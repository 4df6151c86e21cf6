import { assert, assertEquals } from "../support/assert.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import { Steering, type SteerResult } from "../../src/engine/steering.ts";
import { ofType, runScenario, scenario } from "../support/engine_scenario.ts";

/** alice and bob; alice is sent `rotate-key` every 0.25 s for 3 s, each a log line. */
const TICKS = Array.from({ length: 12 }, (_, i) => ({
  time: i / 4,
  peer: "alice",
  command: "rotate-key",
}));

Deno.test("run with steering: manual entries go through the timeline when typed; a pause freezes the peer until resume; refused before and after the timeline [integration: redis]", async () => {
  const steering = new Steering();
  const answers: [string, SteerResult][] = [];
  const submit = (input: string) => answers.push([input, steering.submit(input)]);
  let typed = false;
  const config = scenario({
    peers: [{ name: "alice", bootstrap: ["bob"] }, { name: "bob", bootstrap: ["alice"] }],
    commands: TICKS,
  });
  const outcome = await runScenario(config, {
    steering,
    onEvent: (event: EngineEvent) => {
      if (event.type === "phase" && event.phase === "bootstrap") submit("send bob pull");
      // As a person at the prompt would: after the event, not inside its delivery.
      if (event.type === "command-sent" && event.index === 1 && !typed) {
        typed = true;
        setTimeout(() => {
          submit("fault resume bob");
          submit("fault pause alice");
          submit("send bob rotate-key");
        }, 0);
      }
      if (event.type === "command-sent" && event.index === 8) {
        setTimeout(() => submit("fault resume alice"), 0);
      }
    },
  });
  submit("fault pause bob");
  assertEquals(outcome.result.verdict, "passed");
  assertEquals(answers.map(([input, a]) => [input, a.accepted]), [
    ["send bob pull", false],
    ["fault resume bob", false],
    ["fault pause alice", true],
    ["send bob rotate-key", true],
    ["fault resume alice", true],
    ["fault pause bob", false],
  ]);
  assertEquals(answers[0][1].message, "the run takes manual entries once its timeline has started");
  assertEquals(
    answers[1][1].message,
    "peer: resume only follows a pause: bob is not paused at this point of the timeline",
  );
  assertEquals(
    answers[5][1].message,
    "the timeline is over: the run takes no more manual entries",
  );

  const events = outcome.events;
  const manual = ofType(events, "manual-entry");
  assertEquals(manual.map((e) => [e.manual, e.input, e.entry.index]), [
    [true, "fault pause alice", 12],
    [true, "send bob rotate-key", 13],
    [true, "fault resume alice", 14],
  ]);
  // The same path as a scripted entry: fault-applied and command-sent carry the manual index.
  const applied = ofType(events, "fault-applied").filter((e) => e.index !== undefined);
  assertEquals(applied.map((e) => [e.action.fault, e.index]), [["pause", 12], ["resume", 14]]);
  const sent = ofType(events, "command-sent").find((e) => e.index === 13);
  assertEquals([sent?.peer, sent?.command], ["bob", "rotate-key"]);
  assert(
    events.some((e) => e.type === "peer-log" && e.peer === "bob" && /rotated key/.test(e.message)),
  );
  // Frozen between pause and resume (lines on their way may land for a moment), then on again.
  const [pause, resume] = applied;
  // The thaw comes between the typed resume and its fault-applied.
  const thawAsked = ofType(events, "manual-entry")[2].t;
  const alice = ofType(events, "peer-log").filter((e) => e.peer === "alice");
  assertEquals(
    alice.filter((e) => e.t > pause.t + 200 && e.t < thawAsked).map((e) => e.message),
    [],
  );
  assert(alice.some((e) => e.t > resume.t && e.message.startsWith("rotated key")));
});
