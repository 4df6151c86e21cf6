import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { Docker } from "../../../src/runtimes/docker/docker.ts";
import { DockerRedis, RedisStartError } from "../../../src/runtimes/docker/docker_redis.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import { redisContainerName, redisLabels } from "../../../src/runtimes/docker/container_names.ts";
import type { UnstampedEvent } from "../../../src/engine/events.ts";
import { deadOwner } from "../../support/run_owners.ts";
import { freePort } from "../../support/redis_server.ts";
import {
  buildRedisImage,
  removeImages,
  removeLabelled,
  uniqueId,
} from "../../support/scratch_images.ts";

async function redisPing(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

Deno.test("DockerRedis starts Redis in a container, answers PING, stop() removes it [integration: docker]", async (t) => {
  const id = uniqueId("hs-rd");
  const image = `${id}:redis`;
  const docker = new Docker(new LocalRemote());
  const signal = new AbortController().signal;
  try {
    await buildRedisImage(image);

    await t.step("start() resolves once PING answers; stop() is idempotent", async () => {
      const port = freePort();
      const provider = new DockerRedis({ redis: { image, port }, runId: id, test: "redis test" });
      const server = await provider.start(signal);
      try {
        assertEquals(server.url, `redis://127.0.0.1:${port}`);
        assertEquals(await redisPing(port), "+PONG\r\n");
        const [row] = await docker.containers({ names: [`^${provider.containerName}$`] }, {
          labelKeys: ["tm.run", "tm.role"],
        });
        assertEquals(row.labels, { "tm.run": id, "tm.role": "redis" });
      } finally {
        await server.stop();
        await server.stop();
      }
      assertEquals(await docker.containers({ names: [`^${provider.containerName}$`] }), []);
    });

    await t.step(
      "a port in use fails with a message naming it and leaves no container",
      async () => {
        const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
        const port = (listener.addr as Deno.NetAddr).port;
        const provider = new DockerRedis({ redis: { image, port }, runId: `${id}-b`, test: "t" });
        try {
          const error = await assertRejects(() => provider.start(signal), RedisStartError);
          assert(error.message.includes(`redis.port ${port} is already in use`), error.message);
          assertEquals(error.port, port);
        } finally {
          listener.close();
        }
        assertEquals(await docker.containers({ names: [`^${provider.containerName}$`] }), []);
      },
    );

    await t.step(
      "a dead run's Redis container of the test holding the port is removed with a warning; a live run's is named",
      async () => {
        const port = freePort();
        const test = `${id} left`;
        const dead = redisContainerName(test, `${id}-old`);
        await docker.run({
          image,
          name: dead,
          labels: redisLabels(deadOwner(`${id}-old`, test)),
          ports: [{ host: port, container: 6379, protocol: "tcp" }],
        });
        const events: UnstampedEvent[] = [];
        const provider = new DockerRedis({ redis: { image, port }, runId: `${id}-new`, test });
        const server = await provider.start(signal, (event) => events.push(event));
        try {
          assertEquals(events.map((e) => e.type === "warning" && e.message), [
            `removing the Redis container ${dead} left by run ${id}-old of this test, which ` +
            "is no longer running",
          ]);
          assertEquals(await docker.containers({ names: [`^${dead}$`] }), []);

          // The run that started `server` is this process: alive, so its container stays.
          const again = new DockerRedis({ redis: { image, port }, runId: `${id}-again`, test });
          const error = await assertRejects(() => again.start(signal), RedisStartError);
          assert(error.message.includes(`redis.port ${port} is already in use`), error.message);
          assert(
            error.message.includes(`${provider.containerName} of run ${id}-new`) &&
              error.message.includes("which is still running"),
            error.message,
          );
          assertEquals(await redisPing(port), "+PONG\r\n");
        } finally {
          await server.stop();
        }
      },
    );

    await t.step("a missing image fails clearly", async () => {
      const provider = new DockerRedis({
        redis: { image: `${id}-missing:x`, port: freePort() },
        runId: `${id}-c`,
        test: "t",
      });
      const error = await assertRejects(() => provider.start(signal), RedisStartError);
      assert(error.message.includes(`${id}-missing:x is not on this machine`), error.message);
    });

    await t.step("a container that exits at once fails fast with its logs", async () => {
      const provider = new DockerRedis({
        // redis-server rejects an unknown option and exits 1.
        redis: { image, port: freePort() },
        runId: `${id}-d`,
        test: "t",
        docker: new Docker(new LocalRemote(), {
          command: [
            "sh",
            "-c",
            'if [ "$1" = run ]; then exec docker "$@" --no-such-flag; fi; exec docker "$@"',
            "docker",
          ],
        }),
      });
      const error = await assertRejects(() => provider.start(signal), RedisStartError);
      assert(error.message.includes("stopped before answering PING"), error.message);
      assert(error.message.includes("no-such-flag"), error.message);
    });
  } finally {
    await removeLabelled(`tm.run=${id}`);
    await removeImages(image);
  }
});
