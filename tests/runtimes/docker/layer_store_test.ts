/**
 * LayerStore against this machine's real engine (overlay2, classic image store): the config and
 * every layer's tar come back as the bytes their digests name; a file changed in place fails the
 * stream (CRC-64); a store that cannot serve, or is not safe to read, says why.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { createHash } from "node:crypto";
import { DEFAULT_ENGINE_SOCKET, DockerEngine } from "../../../src/runtimes/docker/engine_api.ts";
import { imageStoreOf } from "../../../src/runtimes/docker/image_store.ts";
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

const local = DockerEngine.local({ host: "local" });

/**
 * This machine's engine with its `/info` reporting data root `root`, storage driver `driver`
 * and driver status `status`; on this machine's socket, or (`remote`) as an engine reached over
 * SSH would be. Every other request is the real engine's.
 */
function engineReporting(
  root: string,
  driver: string,
  { status = [] as string[][], remote = false } = {},
): DockerEngine {
  const engine = new DockerEngine({
    host: remote ? "far" : "local",
    dial: (signal) => new LocalRemote().dialSocket(DEFAULT_ENGINE_SOCKET, signal),
    ...(remote ? {} : { localSocket: DEFAULT_ENGINE_SOCKET }),
  });
  return Object.assign(engine, {
    imageStore: () =>
      Promise.resolve(imageStoreOf("local", {
        DockerRootDir: root,
        Driver: driver,
        DriverStatus: status,
      })),
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
    const store = await LayerStore.open(engineReporting(root, "overlay2"));
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
    () => LayerStore.open(engineReporting("/var/lib/docker", "vfs")),
    LayerStoreUnavailableError,
  );
  assertEquals(vfs.reason, "storage driver vfs");
  const missing = await Deno.makeTempDir({ prefix: "tm-no-store-" });
  try {
    const error = await assertRejects(
      () => LayerStore.open(engineReporting(missing, "overlay2")),
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
        engineReporting("/var/lib/docker", "overlay2", {
          status: [["driver-type", "io.containerd.snapshotter.v1"]],
        }),
      ),
    LayerStoreUnavailableError,
  );
  assertEquals(containerd.reason, "the engine keeps the containerd image store");
  // An engine over SSH: /var/lib/docker here is another engine's, or nobody's.
  const tcp = await assertRejects(
    () =>
      LayerStore.open(
        engineReporting("/var/lib/docker", "overlay2", { remote: true }),
      ),
    LayerStoreUnavailableError,
  );
  assertEquals(tcp.reason, "the engine is on far, not this machine");
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
        const store = await LayerStore.open(engineReporting(root, "overlay2"));
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
