import { assert, assertEquals } from "../support/assert.ts";
import { ConfigSchema } from "../../src/plan/schema.ts";
import { planConfig } from "../../src/plan/plan_config.ts";
import { DockerRuntime } from "../../src/runtimes/docker/docker_runtime.ts";
import {
  createRuntime,
  HOSTS_FOUND_AT_RUN_TIME,
  runtimeKindOf,
  runtimeOf,
  RUNTIMES,
} from "../../src/runtimes/registry.ts";
import { RUNTIME_KINDS } from "../../src/runtimes/runtime_kind.ts";
import { DockerRedis } from "../../src/runtimes/docker/docker_redis.ts";
import { currentOwner } from "../../src/coordination/run_owner.ts";
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

Deno.test("runtimeOf gives the CLI the selected runtime's Redis, reset and its warning: no per-runtime code in src/cli", async () => {
  const entry = runtimeOf(config);
  const redis = entry.redis({
    config,
    runId: "0badcafe",
    owner: currentOwner("0badcafe", "registry"),
  });
  assert(redis instanceof DockerRedis);
  assert(entry.resetAllWarning("here, there").endsWith("on here, there"));
  const cli = await Deno.readTextFile(new URL("../../src/cli/run_command.ts", import.meta.url));
  assertEquals(
    cli.match(/runtimes\/(docker|process)\/|transport\/|DockerRedis|docker system/g),
    null,
  );
});

Deno.test("HOSTS_FOUND_AT_RUN_TIME names exactly the runtimes whose registry entry has a hosts step", () => {
  for (const kind of RUNTIME_KINDS) {
    assertEquals(HOSTS_FOUND_AT_RUN_TIME.has(kind), "hosts" in RUNTIMES[kind], kind);
  }
  assertEquals(Object.keys(RUNTIMES).sort(), [...RUNTIME_KINDS].sort());
});
