/**
 * LayerStore against this machine's real engine (overlay2, classic image store): the config and
 * every layer's tar come back as the bytes their digests name; a file changed in place fails the
 * stream (CRC-64); a store that cannot serve, or is not safe to read, says why.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { createHash } from "node:crypto";
import { Docker } from "../../../src/runtimes/docker/docker.ts";
import { chainIds } from "../../../src/runtimes/docker/image_archive.ts";
import {
  LayerFileMismatchError,
  LayerStore,
  LayerStoreMismatchError,
  LayerStoreUnavailableError,
} from "../../../src/runtimes/docker/layer_store.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import {
  buildFillerImage,
  buildOnTop,
  removeImages,
  sh,
  uniqueId,
} from "../../support/scratch_images.ts";

const local = new Docker(new LocalRemote());

/**
 * A Docker whose `docker info` reports data root `root`, storage driver `driver` and driver
 * status `status`, and whose `docker context inspect` reports `endpoint`; every other command is
 * the real docker.
 */
function dockerReporting(
  root: string,
  driver: string,
  { status = [] as string[][], endpoint = "unix:///var/run/docker.sock" } = {},
): Docker {
  const info = JSON.stringify([root, driver, status]);
  return new Docker(new LocalRemote(), {
    command: [
      "sh",
      "-c",
      `if [ "$1" = info ]; then echo '${info}'; exit 0; fi; ` +
      `if [ "$1" = context ]; then echo '${JSON.stringify(endpoint)}'; exit 0; fi; ` +
      'exec docker "$@"',
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
    const store = await LayerStore.open(dockerReporting(root, "overlay2"));
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
    () => LayerStore.open(dockerReporting("/var/lib/docker", "vfs")),
    LayerStoreUnavailableError,
  );
  assertEquals(vfs.reason, "storage driver vfs");
  const missing = await Deno.makeTempDir({ prefix: "tm-no-store-" });
  try {
    const error = await assertRejects(
      () => LayerStore.open(dockerReporting(missing, "overlay2")),
      LayerStoreUnavailableError,
    );
    assert(error.message.includes(missing), error.message);
  } finally {
    await Deno.remove(missing, { recursive: true });
  }
});

Deno.test("LayerStore.open() reads only a classic overlay2 store of an engine on a local Unix socket", async () => {
  // The containerd image store over overlay2 lays nothing out as layerdb does.
  const containerd = await assertRejects(
    () =>
      LayerStore.open(
        dockerReporting("/var/lib/docker", "overlay2", {
          status: [["driver-type", "io.containerd.snapshotter.v1"]],
        }),
      ),
    LayerStoreUnavailableError,
  );
  assertEquals(containerd.reason, "the engine keeps the containerd image store");
  // An engine over TCP: /var/lib/docker here is another engine's, or nobody's.
  const tcp = await assertRejects(
    () =>
      LayerStore.open(
        dockerReporting("/var/lib/docker", "overlay2", { endpoint: "tcp://10.0.0.9:2375" }),
      ),
    LayerStoreUnavailableError,
  );
  assertEquals(tcp.reason, "the engine is at tcp://10.0.0.9:2375, not a local Unix socket");
});

Deno.test("LayerStore.layer() stream fails on a file changed in place since the layer was stored, though its size is the same, large (read in chunks) or small (read ahead) [integration: docker]", async () => {
  const id = uniqueId("hs-store");
  const base = `${id}:base`;
  await buildFillerImage(base, 1 << 20);
  try {
    for (const size of [3 << 20, 3000]) {
      const top = `${id}:top${size}`;
      const root = await Deno.makeTempDir({ prefix: "tm-test-store-" });
      try {
        await buildOnTop(base, top, size);
        const info = (await local.images([top])).get(top)!;
        const chains = await chainIds(info.layers);
        const chain = chains.at(-1)!.slice("sha256:".length);
        const real = "/var/lib/docker";
        const cacheId = (await Deno.readTextFile(
          `${real}/image/overlay2/layerdb/sha256/${chain}/cache-id`,
        )).trim();
        // A copy of the store holding the top layer.
        await sh(
          `set -e; cd ${root}; mkdir -p image/overlay2/layerdb/sha256 overlay2/${cacheId}; ` +
            `cp -a ${real}/image/overlay2/layerdb/sha256/${chain} image/overlay2/layerdb/sha256/; ` +
            `cp -a ${real}/overlay2/${cacheId}/diff overlay2/${cacheId}/`,
        );
        // Its last byte flipped (whatever it was: a fixed byte would match 1 time in 256).
        using file = await Deno.open(`${root}/overlay2/${cacheId}/diff/top.bin`, {
          read: true,
          write: true,
        });
        const last = new Uint8Array(1);
        await file.seek(size - 1, Deno.SeekMode.Start);
        await file.read(last);
        await file.seek(size - 1, Deno.SeekMode.Start);
        await file.write(last.map((byte) => byte ^ 0xff));
        const store = await LayerStore.open(dockerReporting(root, "overlay2"));
        const layer = await store.layer(chains.at(-1)!);
        const error = await assertRejects(
          () => new Response(layer.stream()).arrayBuffer(),
          LayerFileMismatchError,
        );
        assertEquals(error.path, `${root}/overlay2/${cacheId}/diff/top.bin`);
        // The untouched store streams the same layer whole.
        const intact = await (await LayerStore.open(local)).layer(chains.at(-1)!);
        const tar = new Uint8Array(await new Response(intact.stream()).arrayBuffer());
        assertEquals(
          `sha256:${createHash("sha256").update(tar).digest("hex")}`,
          info.layers.at(-1),
        );
      } finally {
        await Deno.remove(root, { recursive: true });
        await removeImages(top);
      }
    }
  } finally {
    await removeImages(base);
  }
});
