/**
 * The swarm runtime on the test bed's two-node swarm, beyond the shared contract: a peer whose
 * container ends at once (before its task's container is even named to the exit watcher) still
 * has its exit reported, with its code; and a node tm cannot reach refuses the run naming it.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { settledWithin } from "../../../src/base/async.ts";
import { ConfigSchema } from "../../../src/plan/schema.ts";
import { planConfig } from "../../../src/plan/plan_config.ts";
import { place } from "../../../src/plan/placement.ts";
import { RUNTIMES } from "../../../src/runtimes/registry.ts";
import { UnreachableNodeError } from "../../../src/runtimes/swarm/swarm_nodes.ts";
import { nextBasePort, uniqueTestName } from "../../support/e2e.ts";
import { testbed } from "../../support/testbed.ts";
import { formSwarm, swarmBusy, swarmEntry } from "../../support/testbed_swarm.ts";

const busy = swarmBusy();

Deno.test({
  name: "SwarmRuntime reports the exit of a peer that ends at once, with its code, and removes " +
    "its service; findSwarmHosts refuses a node it cannot reach, naming it " +
    `[integration: docker, ssh, testbed, swarm]${busy ? ` (ignored: ${busy})` : ""}`,
  ignore: busy !== undefined,
}, async () => {
  const bed = await testbed();
  Deno.env.set("TM_KNOWN_HOSTS", bed.knownHostsPath);
  const swarm = await formSwarm(bed);
  if (typeof swarm === "string") throw new Error(swarm);
  try {
    const written = (entry: Record<string, unknown>) =>
      planConfig(ConfigSchema.parse({
        name: uniqueTestName("swarm-rt"),
        redis: { port: 6399, image: "unused" },
        hosts: [{ ...entry, base_port: nextBasePort() }],
        peers: [{ name: "quick", image: bed.peerImage, runs_on: "b" }],
        commands: [],
      }));
    const signal = AbortSignal.timeout(30_000);
    const unreachable = await assertRejects(
      () => RUNTIMES.swarm.hosts(written({ connection: "swarm", manager: "local" }), signal),
      UnreachableNodeError,
    );
    assertEquals(unreachable.nodes, ["b"]);

    const config = await RUNTIMES.swarm.hosts(written(swarmEntry(bed)), signal);
    const [placement] = place(config);
    assertEquals(placement.host, "b");
    const runtime = RUNTIMES.swarm.create({ config, plan: [placement], runId: "5a1f0000" });
    try {
      await runtime.setup({ emit: () => {}, signal });
      // No REDIS_URL it can use: the entrypoint's peer fails at once.
      const peer = await runtime.start({
        placement,
        env: { PEER_NAME: "quick", REDIS_URL: "not-a-url", LISTEN_ADDR: placement.listenAddr },
      }, signal);
      assert(await settledWithin(peer.exited, 20_000), "the quick exit was reported");
      const exit = await peer.exited;
      assert(exit.code !== null && exit.code !== 0, `exit ${exit.code}: ${exit.output}`);
    } finally {
      await runtime.teardown({ force: true });
    }
    const left = await new Deno.Command("docker", {
      args: ["service", "ls", "-q", "--filter", "label=tm.run=5a1f0000"],
    }).output();
    assertEquals(new TextDecoder().decode(left.stdout).trim(), "");
  } finally {
    await swarm.leave();
  }
});
