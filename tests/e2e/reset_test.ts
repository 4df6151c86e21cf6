/**
 * End to end: `tm --reset-hosts` removes the config's images from every host, and
 * `tm --reset-hosts-all --yes` prunes a host's engine. The prune runs against host B only: on
 * host A (this machine's engine) it would remove every other test's images.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { hasImage, labelled, workspace } from "../support/e2e.ts";
import { buildBusyboxImage, removeImages, sh } from "../support/scratch_images.ts";
import { hostDocker } from "../support/testbed.ts";

/** Copies `image` from this machine's engine to the engine at `dockerHost`. */
async function copyImage(image: string, dockerHost: string): Promise<void> {
  await sh(`docker save ${image} | docker -H ${dockerHost} load -q >/dev/null`);
}

Deno.test("tm --reset-hosts removes the config's images from every host and nothing else [integration: testbed]", async () => {
  await using ws = await workspace("reset");
  const { bed } = ws;
  const image = `tm-${ws.name}:small`;
  await buildBusyboxImage(image);
  try {
    await copyImage(image, bed.hostB.dockerHost);
    assert(await hasImage(bed.hostA, image) && await hasImage(bed.hostB, image));
    const config = await ws.writeConfig({
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [image],
      hosts: [ws.host(bed.hostA), ws.host(bed.hostB)],
      peers: [{ name: "solo", image: bed.peerImage }],
      commands: [],
    });

    const result = await ws.run([config, "--reset-hosts"]);
    const output = `${result.stdout}\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    assert(result.stdout.includes(`hosta: removed ${image}`), output);
    assert(result.stdout.includes(`hostb: removed ${image}`), output);
    assert(!(await hasImage(bed.hostA, image)), "gone from host A");
    assert(!(await hasImage(bed.hostB, image)), "gone from host B");
    assert(await hasImage(bed.hostA, bed.peerImage), "an image not in `images` is kept");
    assertEquals(await ws.containers(), { hosta: [], hostb: [] }, "no Redis, no peer");

    // Again: nothing to remove is not an error.
    const again = await ws.run([config, "--reset-hosts"]);
    assertEquals(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert(again.stdout.includes(`hostb: ${image} was not there`), again.stdout);
  } finally {
    await removeImages(image);
    await hostDocker(bed.hostB, ["rmi", "-f", image]);
  }
});

Deno.test("tm --reset-hosts-all --yes prunes the host's engine: unused images and stopped containers [integration: testbed]", async () => {
  await using ws = await workspace("prune");
  const { bed } = ws;
  const image = `tm-${ws.name}:small`;
  const label = `tm.e2e=${ws.name}`;
  await buildBusyboxImage(image);
  try {
    await copyImage(image, bed.hostB.dockerHost);
    const created = await hostDocker(bed.hostB, ["create", "--label", label, image, "true"]);
    assertEquals(created.code, 0, created.stderr);
    const config = await ws.writeConfig({
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [bed.peerImage],
      hosts: [ws.host(bed.hostB)],
      peers: [{ name: "solo", image: bed.peerImage }],
      commands: [],
    });

    const result = await ws.run([config, "--reset-hosts-all", "--yes"]);
    const output = `${result.stdout}\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    assert(result.stdout.includes("hostb: docker system prune -af"), output);
    assert(!result.stdout.includes("hosta"), "host A was not touched");
    assertEquals(await labelled(bed.hostB, label), [], "the stopped container was pruned");
    assert(!(await hasImage(bed.hostB, image)), "the unused image was pruned");
    assert(await hasImage(bed.hostA, image), "host A's engine kept its images");
  } finally {
    await removeImages(image);
    const left = await labelled(bed.hostB, label).catch(() => []);
    if (left.length) await hostDocker(bed.hostB, ["rm", "-f", ...left.map((c) => c.id)]);
    await hostDocker(bed.hostB, ["rmi", "-f", image]);
  }
});
