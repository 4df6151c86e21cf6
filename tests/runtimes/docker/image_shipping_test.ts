import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import type { UnstampedEvent } from "../../../src/engine/events.ts";
import { DockerEngine, EngineApiError } from "../../../src/runtimes/docker/engine_api.ts";
import {
  ImageMissingError,
  ImageShippingError,
  pullImages,
  shipImages,
} from "../../../src/runtimes/docker/image_shipping.ts";
import { buildFillerImage, removeImages, sh, uniqueId } from "../../support/scratch_images.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import { startSecondEngine } from "../../support/second_engine.ts";

const never = new AbortController().signal;

function collector() {
  const events: UnstampedEvent[] = [];
  return { events, emit: (event: UnstampedEvent) => events.push(event) };
}

/** This machine's engine, its API calls collected. */
function tracedLocal(): { local: DockerEngine; calls: string[] } & Disposable {
  const calls: string[] = [];
  const local = DockerEngine.local({ host: "local", trace: (line) => calls.push(line) });
  return { local, calls, [Symbol.dispose]: () => local.close() };
}

/** The image exports (`GET /images/get`) among the API calls. */
const exportsIn = (calls: string[]) => calls.filter((c) => / GET \S+\/images\/get /.test(c));

Deno.test("pullImages() fails before anything starts when an image is nowhere, with a build hint [integration: docker]", async () => {
  const { events, emit } = collector();
  const image = `${uniqueId("hs-pull")}:missing`;
  using traced = tracedLocal();
  const error = await assertRejects(
    () => pullImages({ images: [image], local: traced.local, emit, signal: never }),
    ImageMissingError,
  );
  assertEquals(error.images, [image]);
  assert(error.message.includes(`docker build -t ${image} .`), error.message);
  assertEquals(events.map((e) => e.type), ["image-pull", "image-pull"]);
  // Through the Engine API: a pull is `POST /images/create`.
  assert(traced.calls.some((c) => / POST \S+\/images\/create /.test(c)), traced.calls.join("\n"));
});

Deno.test("shipImages() streams one archive into two engines, then skips them [integration: docker]", async (t) => {
  const id = uniqueId("hs-ship");
  const image = `${id}:filler`;
  using traced = tracedLocal();
  const { local, calls } = traced;
  await using b = await startSecondEngine();
  await using c = await startSecondEngine();
  const targets = [
    { name: "host-b", engine: b.engine("host-b") },
    { name: "host-c", engine: c.engine("host-c") },
  ];
  const imageId = async (engine: DockerEngine) =>
    (await engine.images([image])).get(image)?.id ?? null;
  try {
    await buildFillerImage(image, 8 << 20);

    await t.step("pullImages() warns about an image it cannot pull but has", async () => {
      const { events, emit } = collector();
      const images = await pullImages({ images: [image], local, emit, signal: never });
      assertEquals(images.get(image)?.id, await imageId(local));
      assert(events.some((e) => e.type === "warning" && e.message.includes(image)));
    });

    await t.step("the first shipping loads the image on both hosts with progress", async () => {
      const { events, emit } = collector();
      const images = await pullImages({ images: [image], local, emit: () => {}, signal: never });
      const info = images.get(image)!;
      calls.length = 0;
      const report = await shipImages({
        images,
        local,
        targets,
        emit,
        signal: never,
        progressIntervalMs: 0,
      });
      // Read from this machine's layer store: the engine exported nothing.
      assertEquals(exportsIn(calls), []);
      assert(!events.some((e) => e.type === "trace" && e.message.includes("exporting")));
      for (const target of targets) {
        assertEquals(await imageId(target.engine), info.id);
        const mine = events.filter((e) => e.type === "image-transfer" && e.host === target.name);
        assertEquals(mine[0].type === "image-transfer" && mine[0].state, "started");
        const last = mine.at(-1)!;
        assert(last.type === "image-transfer" && last.state === "done");
        assertEquals(last.total, info.size);
        assert(last.bytes >= info.size, `${last.bytes} < ${info.size}`);
        assert(mine.some((e) => e.type === "image-transfer" && e.state === "progress"));
      }
      // Sent and whole archive compare like with like: both are archive bytes.
      for (const shipment of report.shipped) {
        assertEquals(shipment.bytes, shipment.archive);
        assert(shipment.archive > info.size, JSON.stringify(shipment));
      }
    });

    await t.step("a second shipping is skipped on every host", async () => {
      const { events, emit } = collector();
      const report = await shipImages({
        images: new Map([[image, (await local.images([image])).get(image)!]]),
        local,
        targets,
        emit,
        signal: never,
      });
      assertEquals(report.shipped, []);
      assertEquals(events.map((e) => e.type), ["image-skipped", "image-skipped"]);
      for (const target of targets) assertEquals((await target.engine.imageLayers()).length, 1);
    });

    await t.step("through the engine's export, one export feeds both engines", async () => {
      await Promise.all(targets.map((target) => target.engine.removeImages([image])));
      const info = (await local.images([image])).get(image)!;
      const images = new Map([[image, info]]);
      calls.length = 0;
      const report = await shipImages({
        images,
        local,
        targets,
        emit: () => {},
        signal: never,
        layerStore: false,
      });
      assertEquals(exportsIn(calls).length, 1, calls.join("\n"));
      for (const target of targets) assertEquals(await imageId(target.engine), info.id);
      for (const shipment of report.shipped) assertEquals(shipment.bytes, shipment.archive);
    });

    await t.step("gzip on the wire loads the same image", async () => {
      await targets[0].engine.removeImages([image]);
      const info = (await local.images([image])).get(image)!;
      const report = await shipImages({
        images: new Map([[image, info]]),
        local,
        targets,
        emit: () => {},
        signal: never,
        compression: "gzip",
      });
      assertEquals(report.shipped.map((s) => s.host), ["host-b"]);
      assertEquals(await imageId(targets[0].engine), info.id);
    });

    await t.step("a failing host does not stop the others and is named", async () => {
      await Promise.all(targets.map((target) => target.engine.removeImages([image])));
      const info = (await local.images([image])).get(image)!;
      // An engine that reads 100 kB of the archive, then answers as a full disk does: the
      // failure is injected, the other host's engine is real.
      class FullDisk extends DockerEngine {
        override async loadImages(archive: ReadableStream<Uint8Array>): Promise<string[]> {
          let read = 0;
          for await (const chunk of archive) if ((read += chunk.length) >= 100_000) break;
          throw new EngineApiError(this.host, "load", 500, "no space left on device");
        }
      }
      const broken = {
        name: "host-broken",
        engine: new FullDisk({
          host: "host-broken",
          dial: (signal) =>
            new LocalRemote().dialSocket(b.dockerHost.slice("unix://".length), signal),
        }),
      };
      const { events, emit } = collector();
      const error = await assertRejects(
        () =>
          shipImages({
            images: new Map([[image, info]]),
            local,
            targets: [broken, targets[1]],
            emit,
            signal: never,
          }),
        ImageShippingError,
      );
      assertEquals(error.failures.map((f) => f.host), ["host-broken"]);
      assert(error.message.includes("no space left"), error.message);
      assertEquals(await imageId(targets[1].engine), info.id);
      assertEquals(await imageId(targets[0].engine), null);
      assert(
        events.some((e) =>
          e.type === "image-transfer" && e.host === "host-broken" && e.state === "failed"
        ),
      );
    });
  } finally {
    targets.forEach((target) => target.engine.close());
    await removeImages(image);
  }
});

Deno.test("shipImages() aborted mid-transfer leaves no image, process or temp file [integration: docker]", async () => {
  const id = uniqueId("hs-abort");
  const image = `${id}:filler`;
  using traced = tracedLocal();
  const { local } = traced;
  await using b = await startSecondEngine();
  const target = { name: "host-b", engine: b.engine("host-b") };
  try {
    await buildFillerImage(image, 64 << 20);
    const info = (await local.images([image])).get(image)!;
    const controller = new AbortController();
    const emit = (event: UnstampedEvent) => {
      if (event.type === "image-transfer" && event.state === "progress") {
        controller.abort(new Error("interrupted"));
      }
    };
    const error = await assertRejects(
      () =>
        shipImages({
          images: new Map([[image, info]]),
          local,
          targets: [target],
          emit,
          signal: controller.signal,
          progressIntervalMs: 0,
        }),
      Error,
    );
    assertEquals(error.message, "interrupted");
    assertEquals((await target.engine.images([image])).get(image), null);
    // The engine stages the upload under <data-root>/tmp; it discards it once it sees the
    // request gone (asynchronously, ~0.1 s later): poll for that, with a generous deadline.
    let leftovers = "";
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      leftovers = await sh(`find ${b.dataRoot}/tmp -mindepth 1 -maxdepth 1 2>/dev/null || true`);
      if (leftovers === "") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(leftovers, "");
  } finally {
    target.engine.close();
    await removeImages(image);
  }
});
