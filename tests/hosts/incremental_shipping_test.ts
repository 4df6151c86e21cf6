/**
 * Incremental image shipping on the two testbed engines, over SSH: a host that holds an image's
 * lower layers is sent the archive without them, loads it, and ends with the same image ID; a
 * host whose engine refuses the reduced archive is sent the whole image.
 */
import { assert, assertEquals } from "../support/assert.ts";
import type { UnstampedEvent } from "../../src/engine/events.ts";
import { Docker } from "../../src/hosts/docker.ts";
import { shipImages } from "../../src/hosts/image_shipping.ts";
import { LocalRemote } from "../../src/hosts/local.ts";
import { SshRemote } from "../../src/hosts/ssh.ts";
import { buildFillerImage, buildOnTop, removeImages, uniqueId } from "../support/scratch_images.ts";
import { startSecondEngine } from "../support/second_engine.ts";
import { hostDocker, sshOptions, testbed } from "../support/testbed.ts";

const never = new AbortController().signal;

Deno.test("shipImages() sends each testbed host only the layers it lacks, and the whole image when its engine refuses that [integration: testbed]", async (t) => {
  const bed = await testbed();
  const id = uniqueId("hs-incr");
  const base = `${id}:base`;
  const top = `${id}:top`;
  const local = new Docker(new LocalRemote());
  // Host A's engine is this machine's (the source); host B's is reached over SSH as in a run.
  const remotes = await Promise.all(
    [bed.hostA, bed.hostB].map((host) => SshRemote.connect(sshOptions(bed, host))),
  );
  const [, hostB] = remotes.map((remote) => ({
    name: remote.name,
    docker: new Docker(remote),
  }));
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
        const bare = { name: "bare", docker: new Docker(fresh.remote("bare")) };
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
        assertEquals(await hostB.docker.imageId(top), topInfo.id);
        assertEquals(await bare.docker.imageId(top), topInfo.id);
        const traces = events.flatMap((e) => e.type === "trace" ? [e.message] : []);
        assert(
          traces.some((m) => m.startsWith(`ship ${top} → ${hostB.name}: left out 1 of 2 layer(s)`)),
          traces.join("\n"),
        );
        assert(!traces.some((m) => m.includes("→ bare: left out")), traces.join("\n"));
      },
    );

    await t.step("an engine that refuses the reduced archive gets the whole image", async () => {
      await hostDocker(bed.hostB, ["rmi", top]);
      // A host that claims to hold every layer of `top` but has none of `top`'s top layer.
      const layers = JSON.stringify(topInfo.layers);
      const liar = {
        name: "hostb-liar",
        docker: new Docker(remotes[1], {
          command: [
            "sh",
            "-c",
            `if [ "$1 $2" = "image ls" ]; then echo sha256:fake; exit 0; fi; ` +
            `if [ "$1 $2" = "image inspect" ] && [ "$5" = sha256:fake ]; then echo '${layers}'; exit 0; fi; ` +
            'exec docker "$@"',
            "docker",
          ],
        }),
      };
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
          e.type === "trace" && e.message.includes("docker load refused the archive without")
        ),
        JSON.stringify(events.filter((e) => e.type === "trace")),
      );
      assertEquals(await hostB.docker.imageId(top), topInfo.id);
    });
  } finally {
    await hostDocker(bed.hostB, ["rmi", top, base]);
    await removeImages(top, base);
    await Promise.all(remotes.map((remote) => remote.close()));
  }
});
