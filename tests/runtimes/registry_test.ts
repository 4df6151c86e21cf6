import { assert, assertEquals } from "../support/assert.ts";
import { ConfigSchema } from "../../src/plan/schema.ts";
import { planConfig } from "../../src/plan/plan_config.ts";
import { DockerRuntime } from "../../src/runtimes/docker/docker_runtime.ts";
import { createRuntime, runtimeKindOf } from "../../src/runtimes/registry.ts";
import { place } from "../../src/plan/placement.ts";

const config = planConfig(ConfigSchema.parse({
  name: "registry",
  redis: { port: 6399, image: "redis" },
  hosts: [
    { name: "here", connection: "local", base_port: 20000 },
    { name: "there", address: "10.0.0.2", ssh_user: "root", ssh_auth: "agent", base_port: 20000 },
  ],
  peers: [{ name: "alice", image: "peer" }],
  commands: [],
}));

Deno.test("runtimeKindOf selects the Docker runtime for ssh and local hosts, mixed in one config", () => {
  assertEquals(runtimeKindOf(config), "docker");
});

Deno.test("createRuntime builds the runtime the hosts' connections select, connecting nothing yet", () => {
  const runtime = createRuntime({ config, plan: place(config), runId: "0badcafe" });
  assert(runtime instanceof DockerRuntime);
  assertEquals(runtime.kind, "docker");
});
