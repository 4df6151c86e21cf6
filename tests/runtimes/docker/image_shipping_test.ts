import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import type { UnstampedEvent } from "../../../src/engine/events.ts";
import { Docker } from "../../../src/runtimes/docker/docker.ts";
import {
  ImageMissingError,
  ImageShippingError,
  pullImages,
  shipImages,
} from "../../../src/runtimes/docker/image_shipping.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import { buildFillerImage, removeImages, sh, uniqueId } from "../../support/scratch_images.ts";
import { startSecondEngine } from "../../support/second_engine.ts";
import { eventually } from "../../support/until.ts";

const never = new AbortController().signal;

function collector() {
  const events: UnstampedEvent[] = [];
  return { events, emit: (event: UnstampedEvent) => events.push(event) };
}

Deno.test("pullImages() fails before anything starts when an image is nowhere, with a build hint [integration: docker]", async () => {
  const { events, emit } = collector();
  const image = `${uniqueId("hs-pull")}:missing`;
  const error = await assertRejects(
    () =>
      pullImages({ images: [image], local: new Docker(new LocalRemote()), emit, signal: never }),
    ImageMissingError,
  );
  assertEquals(error.images, [image]);
  assert(error.message.includes(`docker build -t ${image} .`), error.message);
  assertEquals(events.map((e) => e.type), ["image-pull", "image-pull"]);
});

Deno.test("shipImages() streams one archive into two engines, then skips them [integration: docker]", async (t) => {
  const id = uniqueId("hs-ship");
  const image = `${id}:filler`;
  const local = new Docker(new LocalRemote());
  await using b = await startSecondEngine();
  await using c = await startSecondEngine();
  const targets = [
    { name: "host-b", docker: new Docker(b.remote("host-b")) },
    { name: "host-c", docker: new Docker(c.remote("host-c")) },
  ];
  try {
    await buildFillerImage(image, 8 << 20);

    await t.step("pullImages() warns about an image it cannot pull but has", async () => {
      const { events, emit } = collector();
      const images = await pullImages({ images: [image], local, emit, signal: never });
      assertEquals(images.get(image)?.id, await local.imageId(image));
      assert(events.some((e) => e.type === "warning" && e.message.includes(image)));
    });

    await t.step("the first shipping loads the image on both hosts with progress", async () => {
      const { events, emit } = collector();
      const images = await pullImages({ images: [image], local, emit: () => {}, signal: never });
      const info = images.get(image)!;
      const saves = await countSaves(
        image,
        () => shipImages({ images, local, targets, emit, signal: never, progressIntervalMs: 0 }),
      );
      // Read from this machine's layer store: docker save never ran.
      assertEquals(saves, 0);
      assert(!events.some((e) => e.type === "trace" && e.message.includes("docker save")));
      for (const target of targets) {
        assertEquals(await target.docker.imageId(image), info.id);
        const mine = events.filter((e) => e.type === "image-transfer" && e.host === target.name);
        assertEquals(mine[0].type === "image-transfer" && mine[0].state, "started");
        const last = mine.at(-1)!;
        assert(last.type === "image-transfer" && last.state === "done");
        assertEquals(last.total, info.size);
        assert(last.bytes >= info.size, `${last.bytes} < ${info.size}`);
        assert(mine.some((e) => e.type === "image-transfer" && e.state === "progress"));
      }
    });

    await t.step("a second shipping is skipped on every host", async () => {
      const { events, emit } = collector();
      const images = await local.images([image]);
      const report = await shipImages({
        images: new Map([[image, images.get(image)!]]),
        local,
        targets,
        emit,
        signal: never,
      });
      assertEquals(report.shipped, []);
      assertEquals(events.map((e) => e.type), ["image-skipped", "image-skipped"]);
      // The loads started while the hosts were asked end on their empty input, loading nothing.
      const engines = [b.dockerHost, c.dockerHost];
      const loads = () =>
        dockerProcesses((args, env) =>
          args.includes(" load") && engines.some((host) => env.includes(host))
        );
      await eventually(
        "the unneeded docker loads to exit",
        async () => (await loads()).length === 0,
      );
      for (const target of targets) {
        assertEquals(
          (await target.docker.call(["image", "ls", "-q"])).trim().split("\n").length,
          1,
        );
      }
    });

    await t.step("through docker save, one save feeds both engines", async () => {
      await Promise.all(targets.map((target) => target.docker.rmi([image])));
      const info = (await local.images([image])).get(image)!;
      const images = new Map([[image, info]]);
      const saves = await countSaves(
        image,
        () =>
          shipImages({ images, local, targets, emit: () => {}, signal: never, layerStore: false }),
      );
      assertEquals(saves, 1);
      for (const target of targets) {
        assertEquals(await target.docker.imageId(image), info.id);
      }
    });

    await t.step("gzip on the wire loads the same image", async () => {
      await targets[0].docker.rmi([image]);
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
      assertEquals(await targets[0].docker.imageId(image), info.id);
    });

    await t.step("a failing host does not stop the others and is named", async () => {
      await Promise.all(targets.map((target) => target.docker.rmi([image])));
      const info = (await local.images([image])).get(image)!;
      const broken = {
        name: "host-broken",
        docker: new Docker(b.remote("host-broken"), {
          command: [
            "sh",
            "-c",
            'if [ "$1" = load ]; then head -c 100000 >/dev/null; echo "no space left" >&2; exit 1; fi; exec docker "$@"',
            "docker",
          ],
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
      assertEquals(await targets[1].docker.imageId(image), info.id);
      assertEquals(await targets[0].docker.imageId(image), null);
      assert(
        events.some((e) =>
          e.type === "image-transfer" && e.host === "host-broken" && e.state === "failed"
        ),
      );
    });
  } finally {
    await removeImages(image);
  }
});

Deno.test("shipImages() aborted mid-transfer leaves no image, process or temp file [integration: docker]", async () => {
  const id = uniqueId("hs-abort");
  const image = `${id}:filler`;
  const local = new Docker(new LocalRemote());
  await using b = await startSecondEngine();
  const target = { name: "host-b", docker: new Docker(b.remote("host-b")) };
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
    assertEquals(await target.docker.imageId(image), null);
    assertEquals(await dockerProcesses((args) => args.includes(`save ${image}`)), []);
    assertEquals(
      await dockerProcesses((args, env) => args.includes(" load") && env.includes(b.dockerHost)),
      [],
    );
    // docker load stages the upload under <data-root>/tmp; the daemon discards it once it sees
    // the client gone (asynchronously, ~0.1 s later): poll for that, with a generous deadline.
    let leftovers = "";
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      leftovers = await sh(`find ${b.dataRoot}/tmp -mindepth 1 -maxdepth 1 2>/dev/null || true`);
      if (leftovers === "") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(leftovers, "");
  } finally {
    await removeImages(image);
  }
});

/** Runs `fn` while counting the `docker save <image>` processes started on this machine. */
async function countSaves(image: string, fn: () => Promise<unknown>): Promise<number> {
  const seen = new Set<string>();
  let done = false;
  const watching = (async () => {
    while (!done) {
      for (const pid of await dockerProcesses((args) => args.includes(`save ${image}`))) {
        seen.add(pid);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await fn();
  } finally {
    done = true;
    await watching;
  }
  return seen.size;
}

/** PIDs of `docker` CLI processes on this machine whose args and environment match. */
async function dockerProcesses(
  match: (args: string, env: string) => boolean,
): Promise<string[]> {
  const out = await sh("pgrep -x docker || true");
  const pids: string[] = [];
  for (const pid of out.split("\n").filter((p) => p)) {
    try {
      const args = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ");
      const env = (await Deno.readTextFile(`/proc/${pid}/environ`)).replaceAll("\0", " ");
      if (match(args, env)) pids.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
