/**
 * LayerStore against this machine's real engine (overlay2, classic image store): the config and
 * every layer's tar come back as the bytes their digests name; a store that cannot serve says why.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { createHash } from "node:crypto";
import { Docker } from "../../../src/runtimes/docker/docker.ts";
import { chainIds } from "../../../src/runtimes/docker/image_archive.ts";
import {
  LayerStore,
  LayerStoreMismatchError,
  LayerStoreUnavailableError,
} from "../../../src/runtimes/docker/layer_store.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import {
  buildFillerImage,
  buildOnTop,
  removeImages,
  uniqueId,
} from "../../support/scratch_images.ts";

const local = new Docker(new LocalRemote());

/** A Docker whose `docker info` prints `answer`; every other command is the real docker. */
function dockerReporting(answer: string): Docker {
  return new Docker(new LocalRemote(), {
    command: [
      "sh",
      "-c",
      `if [ "$1" = info ]; then echo '${answer}'; exit 0; fi; exec docker "$@"`,
      "docker",
    ],
  });
}

Deno.test("LayerStore rebuilds every layer's tar and the config as the bytes their digests name [integration: docker]", async () => {
  const id = uniqueId("hs-store");
  const base = `${id}:base`;
  const top = `${id}:top`;
  try {
    await buildFillerImage(base, 3 << 20);
    await buildOnTop(base, top, 200 << 10);
    const info = (await local.images([top])).get(top)!;
    const chains = await chainIds(info.layers);
    const store = await LayerStore.open(local);
    const config = await store.config(info.id);
    assertEquals(`sha256:${createHash("sha256").update(config).digest("hex")}`, info.id);
    for (const [i, diffId] of info.layers.entries()) {
      const layer = await store.layer(chains[i]);
      const tar = new Uint8Array(await new Response(layer.stream()).arrayBuffer());
      assertEquals(tar.length, layer.size);
      assertEquals(`sha256:${createHash("sha256").update(tar).digest("hex")}`, diffId);
    }
  } finally {
    await removeImages(top, base);
  }
});

Deno.test("LayerStore.config() rejects bytes that do not hash to the image ID, and layer() a layer it does not hold [integration: docker]", async () => {
  const image = `${uniqueId("hs-store")}:filler`;
  const root = await Deno.makeTempDir({ prefix: "tm-test-store-" });
  try {
    await buildFillerImage(image, 1 << 20);
    const info = (await local.images([image])).get(image)!;
    const configs = `${root}/image/overlay2/imagedb/content/sha256`;
    await Deno.mkdir(configs, { recursive: true });
    await Deno.mkdir(`${root}/image/overlay2/layerdb/sha256`, { recursive: true });
    await Deno.mkdir(`${root}/overlay2`);
    await Deno.writeTextFile(`${configs}/${info.id.slice("sha256:".length)}`, "{}");
    const store = await LayerStore.open(dockerReporting(`"${root}" "overlay2"`));
    const error = await assertRejects(() => store.config(info.id), LayerStoreMismatchError);
    assertEquals(error.digest, info.id);
    const [chain] = await chainIds(info.layers);
    await assertRejects(() => store.layer(chain), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
    await removeImages(image);
  }
});

Deno.test("LayerStore.open() says why it cannot serve: another storage driver, or a data root it cannot read", async () => {
  const vfs = await assertRejects(
    () => LayerStore.open(dockerReporting('"/var/lib/docker" "vfs"')),
    LayerStoreUnavailableError,
  );
  assertEquals(vfs.reason, "storage driver vfs");
  const missing = await Deno.makeTempDir({ prefix: "tm-no-store-" });
  try {
    const error = await assertRejects(
      () => LayerStore.open(dockerReporting(`"${missing}" "overlay2"`)),
      LayerStoreUnavailableError,
    );
    assert(error.message.includes(missing), error.message);
  } finally {
    await Deno.remove(missing, { recursive: true });
  }
});
