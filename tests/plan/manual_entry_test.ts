import { assertEquals } from "../support/assert.ts";
import {
  completeManualEntry,
  parseManualEntry,
  validateManualEntry,
} from "../../src/plan/manual_entry.ts";
import { FAULT_NAMES } from "../../src/faults/kinds.ts";
import { scenario } from "../support/engine_scenario.ts";

const CONFIG = scenario({
  peers: [{ name: "alice" }, { name: "bob" }, { name: "carol" }],
  commands: [{ time: 1, peer: "alice", command: "connect" }],
});
const PEERS = ["alice", "bob", "carol"];

Deno.test("parseManualEntry reads send and fault entries as the test file writes them", () => {
  const entry = (text: string) => {
    const parsed = parseManualEntry(text);
    return parsed.ok ? parsed.entry : parsed.message;
  };
  assertEquals(entry("send alice push|bob|hi there"), {
    peer: "alice",
    command: "push|bob|hi there",
  });
  assertEquals(entry("fault pause carol"), { fault: "pause", peer: "carol" });
  assertEquals(entry("fault partition [alice, bob] [carol]"), {
    fault: "partition",
    groups: [["alice", "bob"], ["carol"]],
  });
  assertEquals(entry("fault heal"), { fault: "heal" });
  assertEquals(entry("fault loss * percent=10"), { fault: "loss", peers: "*", percent: 10 });
  assertEquals(entry("fault delay alice,bob ms=200 jitter=20"), {
    fault: "delay",
    peers: ["alice", "bob"],
    ms: 200,
    jitter: 20,
  });
  assertEquals(entry("send alice"), "send needs a peer and a command: send <peer> <command>");
  assertEquals(String(entry("hello")).startsWith("expected send <peer> <command> | fault"), true);
});

Deno.test("validateManualEntry gives the loader's own messages, and checks the order against the timeline so far", () => {
  const problems = (text: string, earlier: Record<string, unknown>[] = []) => {
    const parsed = parseManualEntry(text);
    if (!parsed.ok) throw new Error(parsed.message);
    const valid = validateManualEntry(
      CONFIG,
      earlier.map((e) => ({ time: 2, ...e })) as never,
      parsed.entry,
      3_500,
    );
    return valid.ok ? valid.entry : valid.problems;
  };
  assertEquals(problems("fault pause carol"), { time: 3.5, fault: "pause", peer: "carol" });
  assertEquals(problems("send alicee hi"), ['peer: unknown peer "alicee" (did you mean "alice"?)']);
  assertEquals(problems("fault resume bob"), [
    "peer: resume only follows a pause: bob is not paused at this point of the timeline",
  ]);
  assertEquals(problems("fault resume bob", [{ fault: "pause", peer: "bob" }]), {
    time: 3.5,
    fault: "resume",
    peer: "bob",
  });
  assertEquals(problems("fault delay alice"), ["ms: is required but missing"]);
  assertEquals(problems("fault bogus alice"), [
    `fault: must be one of ${[...FAULT_NAMES, "chaos"].join(", ")}; got "bogus"`,
  ]);
  assertEquals(problems("send bob restart|soon"), [
    'command: "restart|soon": restart takes a delay in seconds, e.g. restart|2',
  ]);
});

Deno.test("completeManualEntry completes verbs, fault kinds, peers (in lists too) and parameters", () => {
  const complete = (text: string) => completeManualEntry(text, PEERS);
  assertEquals(complete("f"), { text: "fault ", candidates: ["fault"] });
  assertEquals(complete("fault pa"), { text: "fault pa", candidates: ["partition", "pause"] });
  assertEquals(complete("fault pau").text, "fault pause ");
  assertEquals(complete("fault pause c").text, "fault pause carol ");
  assertEquals(complete("fault partition [alice,b").text, "fault partition [alice,bob");
  assertEquals(complete("send ").candidates, PEERS);
  assertEquals(complete("fault delay alice ").candidates, ["ms=", "jitter="]);
  assertEquals(complete("fault delay alice j").text, "fault delay alice jitter=");
});

Deno.test("parseManualEntry refuses chaos: it is drawn when the test file is loaded", () => {
  assertEquals(parseManualEntry("fault chaos"), {
    ok: false,
    message: "chaos is drawn when the test file is loaded; steer with the faults themselves",
  });
});
