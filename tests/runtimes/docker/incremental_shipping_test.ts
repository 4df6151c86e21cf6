/**
 * Incremental image shipping on the two testbed engines, over SSH: a host that holds an image's
 * lower layers is sent the archive without them, loads it, and ends with the same image ID,
 * whether the archive is built from the local layer store or is the local engine's export; a
 * host whose engine refuses the reduced archive, or keeps the containerd store, is sent the whole
 * image; a layer store whose files are not what tar-split recorded is given up for the export.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import type { UnstampedEvent } from "../../../src/engine/events.ts";
import {
  DEFAULT_ENGINE_SOCKET,
  DockerEngine,
  engineSocketOf,
} from "../../../src/runtimes/docker/engine_api.ts";
import { shipImages } from "../../../src/runtimes/docker/image_shipping.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import type { Remote } from "../../../src/transport/remote.ts";
import { SshRemote } from "../../../src/transport/ssh.ts";
import { imageStoreOf } from "../../../src/runtimes/docker/image_store.ts";
import { chainIds } from "../../../src/runtimes/docker/image_archive.ts";
import {
  buildFillerImage,
  buildOnTop,
  removeImages,
  sh,
  uniqueId,
} from "../../support/scratch_images.ts";
import { startSecondEngine } from "../../support/second_engine.ts";
import { hostDocker, sshOptions, testbed } from "../../support/testbed.ts";

const never = new AbortController().signal;

/** The probe answers a fake engine gives in place of the real one's (the rest is real). */
type Fakes = Partial<Pick<DockerEngine, "imageStore" | "imageLayers">>;

/** The engine behind `socket` of `remote`'s machine, named `name`, with `fakes` answering. */
function engineOn(
  remote: Remote,
  socket: string,
  name: string,
  fakes: Fakes = {},
  localSocket?: string,
): DockerEngine {
  const engine = new DockerEngine({
    host: name,
    dial: (signal) => remote.dialSocket(socket, signal),
    localSocket,
  });
  return Object.assign(engine, fakes);
}

/**
 * A copy of this machine's layer store holding `image`'s config, its layers' metadata and its
 * top layer's files, whose file
 * `path` has its first byte changed (same size: only the CRC-64 can tell), and this machine's
 * engine answering /info with that copy's root. Removed by disposing.
 */
async function corruptedStore(
  image: { id: string; layers: string[] },
  path: string,
): Promise<{ engine: DockerEngine } & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "tm-test-store-" });
  const chains = (await chainIds(image.layers)).map((c) => c.slice("sha256:".length));
  const chain = chains.at(-1)!;
  const real = "/var/lib/docker";
  const cacheId = (await Deno.readTextFile(
    `${real}/image/overlay2/layerdb/sha256/${chain}/cache-id`,
  )).trim();
  await sh(
    `set -e; cd ${root}; mkdir -p image/overlay2/imagedb/content/sha256 ` +
      `image/overlay2/layerdb/sha256 overlay2/${cacheId}; ` +
      `cp ${real}/image/overlay2/imagedb/content/sha256/${image.id.slice(7)} ` +
      `image/overlay2/imagedb/content/sha256/; ` +
      // Every layer's metadata (the sizes of those left out are read from it), the top's files.
      chains.map((c) =>
        `cp -a ${real}/image/overlay2/layerdb/sha256/${c} image/overlay2/layerdb/sha256/; `
      )
        .join("") +
      `cp -a ${real}/overlay2/${cacheId}/diff overlay2/${cacheId}/`,
  );
  // Its first byte flipped (whatever it was: a fixed byte would match 1 time in 256).
  using file = await Deno.open(`${root}/overlay2/${cacheId}/diff/${path}`, {
    read: true,
    write: true,
  });
  const first = new Uint8Array(1);
  await file.read(first);
  await file.seek(0, Deno.SeekMode.Start);
  await file.write(first.map((byte) => byte ^ 0xff));
  const engine = engineOn(new LocalRemote(), DEFAULT_ENGINE_SOCKET, "local", {
    imageStore: () => Promise.resolve({ kind: "classic", driver: "overlay2", root }),
  }, DEFAULT_ENGINE_SOCKET);
  return {
    engine,
    [Symbol.asyncDispose]: async () => {
      engine.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

function traces(events: UnstampedEvent[]): string[] {
  return events.flatMap((e) => e.type === "trace" ? [e.message] : []);
}

Deno.test("shipImages() sends each testbed host only the layers it lacks, and the whole image when its engine refuses that [integration: testbed]", async (t) => {
  const bed = await testbed();
  const id = uniqueId("hs-incr");
  const base = `${id}:base`;
  const top = `${id}:top`;
  const older = `${id}:older`;
  const local = DockerEngine.local({ host: "local" });
  // Host A's engine is this machine's (the source); host B's is reached over SSH as in a run.
  const ssh = await SshRemote.connect(sshOptions(bed, bed.hostB));
  const socketB = engineSocketOf(bed.hostB.dockerHost)!;
  const engines: DockerEngine[] = [local];
  const onB = (name: string, fakes: Fakes = {}) => {
    const engine = engineOn(ssh, socketB, name, fakes);
    engines.push(engine);
    return { name, engine };
  };
  const hostB = onB(ssh.name);
  const imageId = async (engine: DockerEngine, image: string) =>
    (await engine.images([image])).get(image)?.id ?? null;
  try {
    await buildFillerImage(base, 24 << 20);
    await buildOnTop(base, top, 256 << 10);
    const baseInfo = (await local.images([base])).get(base)!;
    const topInfo = (await local.images([top])).get(top)!;
    assertEquals(topInfo.layers.slice(0, -1), baseInfo.layers);

    // Host B gets the base first (whole: it holds none of its layers).
    const first = await shipImages({
      images: new Map([[base, baseInfo]]),
      local,
      targets: [hostB],
      emit: () => {},
      signal: never,
    });
    assert(first.shipped[0].bytes >= baseInfo.size, JSON.stringify(first));

    await t.step(
      "one shipment: a host holding the lower layers gets the top layer only, a bare engine all of it",
      async () => {
        await using fresh = await startSecondEngine();
        const bare = { name: "bare", engine: fresh.engine("bare") };
        engines.push(bare.engine);
        const events: UnstampedEvent[] = [];
        const report = await shipImages({
          images: new Map([[top, topInfo]]),
          local,
          targets: [hostB, bare],
          emit: (event) => events.push(event),
          signal: never,
        });
        const sent = new Map(report.shipped.map((s) => [s.host, s.bytes]));
        assert(sent.get(hostB.name)! < topInfo.size * 0.05, JSON.stringify(report));
        assert(sent.get("bare")! >= topInfo.size, JSON.stringify(report));
        assertEquals(await imageId(hostB.engine, top), topInfo.id);
        assertEquals(await imageId(bare.engine, top), topInfo.id);
        const traces = events.flatMap((e) => e.type === "trace" ? [e.message] : []);
        assert(
          traces.some((m) => m.startsWith(`ship ${top} → ${hostB.name}: left out 1 of 2 layer(s)`)),
          traces.join("\n"),
        );
        assert(!traces.some((m) => m.includes("→ bare: left out")), traces.join("\n"));
        // Said at normal verbosity: what each host was sent, and which layers it held.
        const shipped = events.flatMap((e) => e.type === "image-shipped" ? [e] : []);
        assertEquals(
          shipped.map((e) => [e.host, e.layers, e.held, e.whole]).sort(),
          [["bare", 2, 0, undefined], [hostB.name, 2, 1, undefined]],
        );
        // Both were fed from the layer store: the engine exported nothing.
        assert(!traces.some((m) => m.includes("exporting")), traces.join("\n"));
        // What was sent is compared with the whole archive, both in archive bytes.
        const whole = report.shipped.map((s) => s.archive);
        assertEquals(whole[0], whole[1]);
        assertEquals(sent.get("bare"), whole[0]);
      },
    );

    await t.step(
      "through the engine's export (layer store not read), a host holding the lower layers gets the top layer only",
      async () => {
        await hostDocker(bed.hostB, ["rmi", top]);
        const events: UnstampedEvent[] = [];
        const report = await shipImages({
          images: new Map([[top, topInfo]]),
          local,
          targets: [hostB],
          emit: (event) => events.push(event),
          signal: never,
          layerStore: false,
        });
        assert(
          report.shipped[0].bytes < topInfo.size * 0.05,
          `${JSON.stringify(report)}\n${traces(events).join("\n")}`,
        );
        assertEquals(await imageId(hostB.engine, top), topInfo.id);
        assert(
          traces(events).some((m) => m.startsWith(`ship ${top} → ${hostB.name}: left out 1 of 2`)),
          traces(events).join("\n"),
        );
      },
    );

    await t.step(
      "a layer store file changed in place (same size) fails its CRC-64 as it streams, and the host is sent the engine's export, without the layers it holds",
      async () => {
        await hostDocker(bed.hostB, ["rmi", top]);
        await using store = await corruptedStore(topInfo, "top.bin");
        const events: UnstampedEvent[] = [];
        const report = await shipImages({
          images: new Map([[top, topInfo]]),
          local: store.engine,
          targets: [hostB],
          emit: (event) => events.push(event),
          signal: never,
        });
        assertEquals(report.shipped.map((s) => s.host), [hostB.name]);
        assert(
          report.shipped[0].bytes < topInfo.size * 0.05,
          `${JSON.stringify(report)}\n${traces(events).join("\n")}`,
        );
        assertEquals(await imageId(hostB.engine, top), topInfo.id);
        assert(
          traces(events).some((m) =>
            m.startsWith(`ship ${top} → ${hostB.name}: reading the local layer store failed:`) &&
            m.includes("top.bin changed since its layer was stored: its CRC-64 differs") &&
            m.endsWith("exporting through the engine")
          ),
          traces(events).join("\n"),
        );
      },
    );

    await t.step(
      "a host holding an older build under the same name gets the changed layer only, decided from that build without its list of every layer",
      async () => {
        await hostDocker(bed.hostB, ["rmi", top]);
        await buildOnTop(base, older, 256 << 10);
        const olderInfo = (await local.images([older])).get(older)!;
        await shipImages({
          images: new Map([[older, olderInfo]]),
          local,
          targets: [hostB],
          emit: () => {},
          signal: never,
        });
        await hostDocker(bed.hostB, ["tag", older, top]);
        // A host that cannot list its layers: only the older build can tell what it holds.
        const unlisted = onB(hostB.name, {
          imageLayers: () => Promise.reject(new Error("cannot list")),
        });
        const events: UnstampedEvent[] = [];
        const report = await shipImages({
          images: new Map([[top, topInfo]]),
          local,
          targets: [unlisted],
          emit: (event) => events.push(event),
          signal: never,
        });
        assert(report.shipped[0].bytes < topInfo.size * 0.05, JSON.stringify(report));
        assertEquals(await imageId(hostB.engine, top), topInfo.id);
        assert(
          traces(events).some((m) => m.startsWith(`ship ${top} → ${hostB.name}: left out 1 of 2`)),
          traces(events).join("\n"),
        );
      },
    );

    await t.step(
      "a host whose engine keeps the containerd store is sent the whole image at once, never the partial archive it would refuse",
      async () => {
        await hostDocker(bed.hostB, ["rmi", top]);
        // Host B's engine (20.10, classic) answering the probe as Docker 29's containerd store
        // does: this machine's Docker is too old to run that store (no containerd-snapshotter).
        const containerd = onB("hostb-containerd", {
          imageStore: () =>
            Promise.resolve(imageStoreOf("hostb-containerd", {
              DockerRootDir: "/var/lib/docker",
              Driver: "overlayfs",
              DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]],
            })),
        });
        const events: UnstampedEvent[] = [];
        const report = await shipImages({
          images: new Map([[top, topInfo]]),
          local,
          targets: [containerd],
          emit: (event) => events.push(event),
          signal: never,
        });
        assertEquals(report.shipped.map((s) => [s.host, s.held]), [["hostb-containerd", 0]]);
        assert(report.shipped[0].bytes >= topInfo.size, JSON.stringify(report));
        // One transfer: no partial archive was tried and refused first.
        const started = events.filter((e) => e.type === "image-transfer" && e.state === "started");
        assertEquals(started.length, 1);
        assert(!traces(events).some((m) => m.includes("refused")), traces(events).join("\n"));
        const shipped = events.flatMap((e) => e.type === "image-shipped" ? [e] : []);
        assertEquals(
          shipped.map((e) => e.whole),
          ["hostb-containerd's containerd store takes no partial archive"],
        );
        assertEquals(await imageId(hostB.engine, top), topInfo.id);
      },
    );

    await t.step("an engine that refuses the reduced archive gets the whole image", async () => {
      await hostDocker(bed.hostB, ["rmi", top]);
      // A host that claims to hold every layer of `top` but has none of `top`'s top layer.
      const liar = onB("hostb-liar", { imageLayers: () => Promise.resolve([topInfo.layers]) });
      const events: UnstampedEvent[] = [];
      const report = await shipImages({
        images: new Map([[top, topInfo]]),
        local,
        targets: [liar],
        emit: (event) => events.push(event),
        signal: never,
      });
      assertEquals(report.shipped.map((s) => s.host), ["hostb-liar"]);
      assert(report.shipped[0].bytes >= topInfo.size, JSON.stringify(report));
      assert(
        events.some((e) =>
          e.type === "trace" && e.message.includes("the engine refused the archive without")
        ),
        JSON.stringify(events.filter((e) => e.type === "trace")),
      );
      const shipped = events.flatMap((e) => e.type === "image-shipped" ? [e] : []);
      assert(
        shipped[0]?.whole?.startsWith("hostb-liar refused the archive"),
        JSON.stringify(shipped),
      );
      assertEquals(await imageId(hostB.engine, top), topInfo.id);
    });
  } finally {
    await hostDocker(bed.hostB, ["rmi", top, older, base]);
    await removeImages(top, older, base);
    engines.forEach((engine) => engine.close());
    await ssh.close();
  }
});
