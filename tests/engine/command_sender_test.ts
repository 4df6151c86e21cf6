import { assertEquals } from "../support/assert.ts";
import { CommandSender } from "../../src/engine/command_sender.ts";
import type { UnstampedEvent } from "../../src/engine/events.ts";

/** A sender over a fake coordination that records each pipeline; `gone` peers are undeliverable. */
function sender(options: { gone?: string[]; fail?: boolean } = {}) {
  const pipelines: { peer: string; command: string }[][] = [];
  const events: UnstampedEvent[] = [];
  const lost: string[] = [];
  const commands = new CommandSender({
    states: {
      undeliverableReason: (peer) => options.gone?.includes(peer) ? `${peer} exited` : undefined,
    },
    coordination: () => ({
      send: (batch) => {
        pipelines.push([...batch]);
        return options.fail ? Promise.reject(new Error("connection closed")) : Promise.resolve();
      },
    }),
    emit: (event) => events.push(event),
    lost: (message) => lost.push(message),
  });
  return { commands, pipelines, events, lost };
}

Deno.test("CommandSender.send sends the deliverable commands in one pipeline, in order, and reports the rest undeliverable", async () => {
  const { commands, pipelines, events } = sender({ gone: ["carol"] });
  await commands.send([
    { peer: "bob", command: "ping" },
    { peer: "carol", command: "ping" },
    { peer: "alice", command: "restart|5" },
  ]);
  assertEquals(pipelines, [[{ peer: "bob", command: "ping" }, {
    peer: "alice",
    command: "restart|5",
  }]]);
  assertEquals(events, [
    { type: "command-sent", peer: "bob", command: "ping" },
    { type: "command-sent", peer: "alice", command: "restart|5" },
    { type: "command-undeliverable", peer: "carol", command: "ping", reason: "carol exited" },
  ]);
});

Deno.test("CommandSender.send reports a timeline batch's lateness and its acknowledgement", async () => {
  const { commands, events } = sender();
  await commands.send([{ peer: "bob", command: "ping", index: 3, dueMs: 1_000 }], 2);
  assertEquals(events.map((event) => event.type), ["command-sent", "commands-acknowledged"]);
  assertEquals(events[0], {
    type: "command-sent",
    peer: "bob",
    command: "ping",
    index: 3,
    dueMs: 1_000,
    lateMs: 2,
  });
  const ack = events[1] as Extract<UnstampedEvent, { type: "commands-acknowledged" }>;
  assertEquals([ack.indexes, ack.dueMs], [[3], 1_000]);
});

Deno.test("CommandSender.send sends nothing when every command is undeliverable", async () => {
  const { commands, pipelines, events } = sender({ gone: ["bob"] });
  await commands.send([{ peer: "bob", command: "shutdown" }]);
  assertEquals(pipelines, []);
  assertEquals(events.map((event) => event.type), ["command-undeliverable"]);
});

Deno.test("CommandSender.send reports a failed pipeline as Redis lost and does not reject; landed() resolves", async () => {
  const { commands, lost } = sender({ fail: true });
  const sending = commands.send([{ peer: "bob", command: "ping" }]);
  await commands.landed();
  await sending;
  assertEquals(lost, ["sending commands: connection closed"]);
});

Deno.test("CommandSender.send calls meanwhile once the pipeline is written, before any event", async () => {
  const order: string[] = [];
  const commands = new CommandSender({
    states: { undeliverableReason: (peer) => peer === "carol" ? "carol exited" : undefined },
    coordination: () => ({
      send: () => {
        order.push("pipeline");
        return Promise.resolve();
      },
    }),
    emit: (event) => order.push(event.type),
    lost: () => {},
  });
  await commands.send(
    [{ peer: "bob", command: "ping" }, { peer: "carol", command: "ping" }],
    undefined,
    () => order.push("meanwhile"),
  );
  assertEquals(order, ["pipeline", "meanwhile", "command-sent", "command-undeliverable"]);
});
