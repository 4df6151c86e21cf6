import { assert, assertEquals } from "../support/assert.ts";
import { hostDocker, parseFacts, testbed } from "../support/testbed.ts";
import { eventually } from "../support/until.ts";

const SETUP = new URL("../../scripts/testbed/setup.sh", import.meta.url).pathname;

async function sh(script: string): Promise<string> {
  const output = await new Deno.Command("bash", { args: ["-c", script], stdin: "null" }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(`${script}: exit ${output.code}\n${decoder.decode(output.stderr)}`);
  }
  return decoder.decode(output.stdout);
}

Deno.test("setup.sh is idempotent: a second run reports the same facts [integration: testbed]", async () => {
  const bed = await testbed();
  const again = parseFacts(await sh(`bash ${SETUP}`));
  assertEquals(again.get("TM_TESTBED_HOSTB_ADDRESS"), bed.hostB.address);
  assertEquals(again.get("TM_TESTBED_HOSTA_PORT"), String(bed.hostA.port));
  assertEquals(parseFacts(await Deno.readTextFile(`${bed.dir}/env`)), again);
  const sshds = await sh(`pgrep -c -f '^sshd: /usr/sbin/sshd -f ${bed.dir}/' || true`);
  assertEquals(sshds.trim(), "2", "one sshd per host, not one per setup");
});

Deno.test("a container on host B reaches a port published on host A through the gateway [integration: testbed]", async () => {
  const bed = await testbed();
  const tag = `tm-testbed-probe-${crypto.randomUUID().slice(0, 8)}:latest`;
  const redis = `tm-testbed-probe-redis-${crypto.randomUUID().slice(0, 8)}`;
  const root = await Deno.makeTempDir({ prefix: "tm-testbed-probe-" });
  try {
    // A busybox-only image, imported straight into host B's engine.
    await sh(
      `mkdir -p ${root}/bin && cp "$(command -v busybox)" ${root}/bin/ && ` +
        `ln -s busybox ${root}/bin/sh && ln -s busybox ${root}/bin/nc && ` +
        `tar -C ${root} -c . | docker -H ${bed.hostB.dockerHost} import - ${tag} >/dev/null`,
    );
    // Redis in host A's engine, published on a port Docker picks.
    await sh(`docker run -d --rm --name ${redis} -p 0:6379 ${bed.redisImage} >/dev/null`);
    const port = (await sh(`docker port ${redis} 6379/tcp`)).split("\n")[0].split(":").pop();
    assert(port && /^\d+$/.test(port), `published port: ${port}`);
    const probe = await hostDocker(bed.hostB, [
      "run",
      "--rm",
      tag,
      "sh",
      "-c",
      `printf 'PING\\r\\n' | nc -w 5 ${bed.hostB.orchestratorAddress} ${port}`,
    ]);
    assertEquals(probe.stdout.trim(), "+PONG", probe.stderr);
  } finally {
    await sh(`docker rm -f ${redis} >/dev/null 2>&1 || true`);
    await sh(`docker -H ${bed.hostB.dockerHost} rmi -f ${tag} >/dev/null 2>&1 || true`);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the testbed images are FROM scratch and start their programs [integration: testbed]", async () => {
  const bed = await testbed();
  const inspect = JSON.parse(await sh(`docker image inspect ${bed.peerImage} ${bed.redisImage}`));
  for (const image of inspect) {
    assertEquals(image.RootFS.Layers.length, 1, "one layer: no base image");
    assert(image.Config.Labels["tm.testbed.inputs"], "inputs hash label");
  }
  assertEquals(inspect[0].Config.Entrypoint, [
    "/bin/sh",
    "/app/entrypoint.sh",
    "/usr/bin/deno",
    "run",
    "-A",
    "/app/reference_peer.js",
  ]);
  const deno = await sh(`docker run --rm --entrypoint /usr/bin/deno ${bed.peerImage} --version`);
  assert(deno.startsWith("deno 2."), deno);
  const redis = await sh(
    `docker run --rm --entrypoint /usr/bin/redis-server ${bed.redisImage} --version`,
  );
  assert(redis.startsWith("Redis server"), redis);
});

Deno.test("the reference peer image reports started and stops on shutdown [integration: testbed]", async () => {
  const bed = await testbed();
  const id = crypto.randomUUID().slice(0, 8);
  const redis = `tm-testbed-probe-redis-${id}`;
  const peer = `tm-testbed-probe-peer-${id}`;
  try {
    await sh(`docker run -d --rm --name ${redis} -p 0:6379 ${bed.redisImage} >/dev/null`);
    const port = (await sh(`docker port ${redis} 6379/tcp`)).split("\n")[0].split(":").pop();
    const cli = `redis-cli -p ${port}`;
    await eventually(
      "redis answers",
      async () => (await sh(`${cli} ping || true`)).trim() === "PONG",
    );
    await sh(
      `docker run -d --name ${peer} --add-host=host.docker.internal:host-gateway ` +
        `-e REDIS_URL=redis://host.docker.internal:${port} -e PEER_NAME=alice ${bed.peerImage} >/dev/null`,
    );
    await eventually(
      "alice started",
      async () => (await sh(`${cli} get alice_status`)).startsWith("started"),
    );
    await sh(`${cli} rpush alice_command shutdown >/dev/null`);
    assertEquals((await sh(`docker wait ${peer}`)).trim(), "0");
    assertEquals((await sh(`${cli} get alice_status`)).trim(), "stopped");
  } finally {
    await sh(`docker rm -f ${peer} ${redis} >/dev/null 2>&1 || true`);
  }
});
