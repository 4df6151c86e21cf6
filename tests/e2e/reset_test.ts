/**
 * End to end: `tm --reset-hosts` removes the config's images from every host, and
 * `tm --reset-hosts-all --yes` prunes a host's engine. The prune runs against an engine of its
 * own (a `connection: local` host whose DOCKER_HOST is a private engine): the test files run in
 * parallel, and pruning a shared engine would remove other tests' images and stopped containers.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { hasImage, labelled, workspace } from "../support/e2e.ts";
import { buildBusyboxImage, removeImages, sh } from "../support/scratch_images.ts";
import { startSecondEngine } from "../support/second_engine.ts";
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
  await using engine = await startSecondEngine();
  const { bed } = ws;
  const image = `tm-${ws.name}:small`;
  const label = `tm.e2e=${ws.name}`;
  const own = { name: "own", dockerHost: engine.dockerHost };
  await buildBusyboxImage(image);
  try {
    await copyImage(image, engine.dockerHost);
    const created = await hostDocker(own, ["create", "--label", label, image, "true"]);
    assertEquals(created.code, 0, created.stderr);
    // A tag only the private engine has: removing it proves tm reaches that engine before the
    // prune runs (pruning this machine's engine would wreck every other test).
    const marker = `tm-${ws.name}:marker`;
    assertEquals((await hostDocker(own, ["tag", image, marker])).code, 0);
    const config = await ws.writeConfig({
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [marker],
      hosts: [{ connection: "local", name: "own", base_port: 20_000 }],
      peers: [{ name: "solo", image: bed.peerImage }],
      commands: [],
    });
    // tm reaches the local host's engine on the socket DOCKER_HOST names, as the docker CLI does.
    const env = { DOCKER_HOST: engine.dockerHost };
    const reached = await ws.run([config, "--reset-hosts"], { env });
    assertEquals(reached.code, 0, `${reached.stdout}\n${reached.stderr}`);
    assert(reached.stdout.includes(`own: removed ${marker}`), reached.stdout);

    const result = await ws.run([config, "--reset-hosts-all", "--yes"], { env });
    const output = `${result.stdout}\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    assert(
      /^own: pruned stopped containers, unused networks, images and build cache: Total reclaimed space: \d/m
        .test(result.stdout),
      output,
    );
    assertEquals(await labelled(own, label), [], "the stopped container was pruned");
    assert(!(await hasImage(own, image)), "the unused image was pruned");
    assert(await hasImage(bed.hostA, image), "the machine's own engine kept its images");
  } finally {
    await removeImages(image);
  }
});
