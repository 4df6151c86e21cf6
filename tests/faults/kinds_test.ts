import { assert, assertEquals } from "../support/assert.ts";
import { FAULT_KINDS, FAULT_NAMES, faultKind, NETWORK_FAULTS } from "../../src/faults/kinds.ts";
import { FaultSchema } from "../../src/plan/schema.ts";

Deno.test("FAULT_KINDS names each kind once, and faultKind finds each by name", () => {
  assertEquals(new Set(FAULT_NAMES).size, FAULT_KINDS.length);
  for (const kind of FAULT_KINDS) assertEquals(faultKind(kind.name).name, kind.name);
});

Deno.test("FAULT_KINDS each accept their own minimal entry through the timeline's schema", () => {
  const minimal: Record<string, Record<string, unknown>> = {
    delay: { ms: 10 },
    loss: { percent: 5 },
    rate: { kbit: 64 },
    partition: { groups: [["a"], ["b"]] },
  };
  for (const kind of FAULT_KINDS) {
    const entry = {
      time: 1,
      fault: kind.name,
      ...(kind.targets === "groups" ? {} : { peer: "a" }),
      ...minimal[kind.name],
    };
    const parsed = FaultSchema.safeParse(entry);
    assert(parsed.success, `${kind.name}: ${JSON.stringify(parsed.error?.issues)}`);
    assertEquals(parsed.data.fault, kind.name);
  }
});

Deno.test("NETWORK_FAULTS are the kinds that act on the network, heal among them", () => {
  assertEquals(
    [...NETWORK_FAULTS],
    FAULT_KINDS.filter((kind) => kind.acts === "network").map((kind) => kind.name),
  );
  assert(NETWORK_FAULTS.has("heal") && !NETWORK_FAULTS.has("pause"));
});

Deno.test("docs/config.md's fault table has a row for every fault kind, and no other", async () => {
  const docs = await Deno.readTextFile(new URL("../../docs/config.md", import.meta.url));
  const section = docs.slice(docs.indexOf("| `fault`"));
  const table = section.slice(0, section.indexOf("\n\n"));
  const rows = [...table.matchAll(/^\| `([a-z]+)` +\|/gm)].map((match) => match[1]);
  assertEquals(rows.filter((name) => name !== "fault"), [...FAULT_NAMES]);
});

Deno.test("each kind's order rule lets it act on a running peer unless it thaws or restarts", () => {
  const needsOther = new Set(["resume", "start"]);
  for (const kind of FAULT_KINDS) {
    const refusal = kind.order.refuse("p", "running", "");
    assertEquals(refusal === undefined, !needsOther.has(kind.name), kind.name);
  }
});
