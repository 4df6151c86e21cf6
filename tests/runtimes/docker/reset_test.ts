import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import { ResetError, resetHosts } from "../../../src/runtimes/docker/reset.ts";
import { buildBusyboxImage, removeImages, sh, uniqueId } from "../../support/scratch_images.ts";
import { startSecondEngine } from "../../support/second_engine.ts";

const host = (name: string) => ({
  connection: "ssh" as const,
  address: name,
  name,
  ssh_user: "root",
  ssh_auth: "agent",
  ssh_port: 22,
  host_key_check: "accept-new" as const,
  base_port: 20000,
  tags: [],
});

// The hosts here are private engines: prune never touches the machine's own engine.
Deno.test("resetHosts() removes the config's images, prunes with all, and names failing hosts [integration: docker]", async (t) => {
  const id = uniqueId("hs-reset");
  const image = `${id}:bb`;
  await using b = await startSecondEngine();
  await using c = await startSecondEngine();
  const engines = [b, c];
  const connect = (_h: unknown, index: number) =>
    Promise.resolve(engines[index].remote(`host-${index}`));
  const engineB = b.engine();
  const engineC = c.engine();
  const imageId = async (engine: typeof engineB, image: string) =>
    (await engine.images([image])).get(image)?.id ?? null;
  try {
    await buildBusyboxImage(image);
    // host-1 has the image (and another tag of it); host-0 lacks it, which is fine.
    await sh(`docker save ${image} | DOCKER_HOST=${c.dockerHost} docker load -q`);
    await sh(`DOCKER_HOST=${c.dockerHost} docker tag ${image} ${id}:other`);

    await t.step("--reset-hosts removes listed images only; missing is fine", async () => {
      const lines: string[] = [];
      const results = await resetHosts({
        config: { hosts: [host("host-0"), host("host-1")], images: [image] },
        connect,
        all: false,
        print: (line) => lines.push(line),
      });
      assertEquals(results.map((r) => [r.host, r.removed, r.missing]), [
        ["host-0", [], [image]],
        ["host-1", [image], []],
      ]);
      assertEquals(await imageId(engineC, image), null);
      assert((await imageId(engineC, `${id}:other`)) !== null);
      assert(lines.includes(`host-1: removed ${image}`), lines.join("\n"));
    });

    await t.step(
      "--reset-hosts-all prunes every unused image, through the Engine API",
      async () => {
        const trace: string[] = [];
        const results = await resetHosts({
          config: { hosts: [host("host-0"), host("host-1")], images: [] },
          connect,
          all: true,
          trace: (line) => trace.push(line),
        });
        assert(
          results.every((r) => /^Total reclaimed space: /.test(r.reclaimed ?? "")),
          JSON.stringify(results),
        );
        assertEquals(await imageId(engineC, `${id}:other`), null);
        for (const what of ["containers", "networks", "images", "build"]) {
          assert(
            trace.some((line) => line.startsWith(`host-1: API POST /v1.41/${what}/prune `)),
            trace.join("\n"),
          );
        }
      },
    );

    await t.step("a host that cannot be reached fails, named, after the others ran", async () => {
      await sh(`docker save ${image} | DOCKER_HOST=${b.dockerHost} docker load -q`);
      const error = await assertRejects(
        () =>
          resetHosts({
            config: { hosts: [host("host-0"), host("down")], images: [image] },
            connect: (h, index) =>
              index === 1
                ? Promise.reject(new Error("down: connection refused"))
                : connect(h, index),
            all: false,
          }),
        ResetError,
      );
      assertEquals(error.message, "down: connection refused");
      assertEquals(await imageId(engineB, image), null);
    });
  } finally {
    engineB.close();
    engineC.close();
    await removeImages(image);
  }
});

Deno.test("resetHosts() closes every connection it opened [integration: docker]", async () => {
  const closed: string[] = [];
  class Tracked extends LocalRemote {
    override close() {
      closed.push(this.name);
      return super.close();
    }
  }
  await resetHosts({
    config: { hosts: [host("x"), host("y")], images: [`${uniqueId("hs-none")}:x`] },
    connect: (h) => Promise.resolve(new Tracked({ name: (h as { name: string }).name })),
    all: false,
  });
  assertEquals(closed.sort(), ["x", "y"]);
});
