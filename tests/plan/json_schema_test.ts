import { assert, assertEquals } from "../support/assert.ts";
import { configJsonSchema } from "../../src/plan/json_schema.ts";
import { FAULT_KINDS } from "../../src/faults/kinds.ts";

type Schema = Record<string, unknown> & {
  properties?: Record<string, Schema>;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
};

Deno.test("configJsonSchema() is draft-07 with an $id, a title and every top-level field", () => {
  const schema = configJsonSchema() as Schema;
  assertEquals(schema.$schema, "http://json-schema.org/draft-07/schema#");
  assertEquals(schema.$id, "urn:tm:config");
  assertEquals(schema.title, "tm test configuration");
  assertEquals(Object.keys(schema.properties!), [
    "name",
    "timeout",
    "redis",
    "images",
    "remove_images",
    "peer_environment",
    "hosts",
    "peers",
    "commands",
    "log_level",
    "expect",
    "fail_fast",
    "seed",
  ]);
  assertEquals(schema.required, ["name", "redis", "hosts", "peers", "commands"]);
});

Deno.test("configJsonSchema() forbids unknown keys in every object", () => {
  const schema = configJsonSchema() as Schema;
  const objects: Schema[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== "object") return;
    const record = node as Schema;
    if (record.type === "object" && record.properties) objects.push(record);
    Object.values(record).forEach(walk);
  };
  walk(schema);
  // the config, timeout, redis, SSH host, local host, peer, command and check objects, one shape
  // per fault kind, chaos, the random bootstrap ({ random: K, from }), and the swarm entry and
  // its nodes' SSH fields
  assertEquals(objects.length, 8 + FAULT_KINDS.length + 1 + 1 + 2);
  for (const object of objects) assertEquals(object.additionalProperties, false);
});

Deno.test("configJsonSchema() describes the input: defaults optional, both runs_on forms", () => {
  const schema = configJsonSchema() as Schema;
  const [sshHost, localHost] = schema.properties!.hosts.items!.oneOf!;
  assertEquals(sshHost.required, ["address", "ssh_user", "ssh_auth", "base_port"]);
  assertEquals(sshHost.properties!.connection.default, "ssh");
  assertEquals(localHost.required, ["connection", "base_port"]);
  const peer = schema.properties!.peers.items!;
  assertEquals(peer.required, ["name", "image"]);
  const runsOn = JSON.stringify(peer.properties!.runs_on);
  assert(runsOn.includes('"type":"string"') && runsOn.includes('"type":"array"'));
  assertEquals(schema.properties!.log_level.enum, ["error", "warn", "info", "debug", "trace"]);
  assertEquals(schema.properties!.timeout.properties!.startup.default, 60);
});

Deno.test("configJsonSchema() describes a timeline entry as a command or one of the faults", () => {
  const schema = configJsonSchema() as Schema;
  const [command, fault] = schema.properties!.commands.items!.anyOf as Schema[];
  assertEquals(command.required, ["time", "peer", "command"]);
  const faults = (fault.oneOf ?? []).map((shape) => {
    const name = shape.properties!.fault;
    return [name.const ?? name.enum, shape.required];
  });
  assertEquals(faults, [
    ["delay", ["time", "fault", "ms"]],
    ["loss", ["time", "fault", "percent"]],
    ["rate", ["time", "fault", "kbit"]],
    ["partition", ["time", "fault", "groups"]],
    ["heal", ["time", "fault"]],
    ["pause", ["time", "fault"]],
    ["resume", ["time", "fault"]],
    ["kill", ["time", "fault"]],
    ["start", ["time", "fault"]],
    ["chaos", ["fault", "from", "until", "every", "kinds", "peers"]],
  ]);
  assertEquals(fault.oneOf![0].properties!.ms.maximum, 60_000);
  assertEquals(fault.oneOf![1].properties!.percent.maximum, 100);
});
