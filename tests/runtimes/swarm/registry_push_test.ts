/**
 * The swarm's `registry:` pushes: where an image goes (pure), and `pushImages` against a real
 * registry (Debian's docker-registry) through this machine's engine: the digest is the one the
 * registry serves, a failed push is an error naming image and registry, and the references tm
 * created are removed, the image kept under its own name.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { DockerEngine } from "../../../src/runtimes/docker/engine_api.ts";
import {
  pushImages,
  RegistryPushError,
  registryReference,
  removePushedReferences,
} from "../../../src/runtimes/swarm/registry_push.ts";
import { freePort } from "../../support/redis_server.ts";
import { registryMissing, startTestRegistry } from "../../support/test_registry.ts";
import { testbed } from "../../support/testbed.ts";
import { uniqueTestName } from "../../support/e2e.ts";

Deno.test("registryReference keeps the image's path and tag under the registry, drops the image's own registry host", () => {
  const at = (image: string) => registryReference("127.0.0.1:5000", image);
  assertEquals(at("peer"), { repo: "127.0.0.1:5000/peer", tag: "latest" });
  assertEquals(at("tm-ref-peer:test"), { repo: "127.0.0.1:5000/tm-ref-peer", tag: "test" });
  assertEquals(at("ghcr.io/team/peer:1.2"), { repo: "127.0.0.1:5000/team/peer", tag: "1.2" });
  assertEquals(at("localhost:5001/peer:x"), { repo: "127.0.0.1:5000/peer", tag: "x" });
  assertEquals(at("library/Peer"), { repo: "127.0.0.1:5000/library/peer", tag: "latest" });
  assertEquals(
    at(`peer@sha256:${"ab".repeat(32)}`),
    { repo: "127.0.0.1:5000/peer", tag: "tm-abababababab" },
  );
  assertEquals(
    registryReference("reg.example.com/ci/", "peer:1"),
    { repo: "reg.example.com/ci/peer", tag: "1" },
  );
});

const missing = registryMissing();

Deno.test({
  name: "pushImages pushes through this machine's engine and pins the digest the registry " +
    "serves; a push to a registry that does not answer fails naming image and registry; " +
    "the references tm created are removed, the image kept " +
    `[integration: docker, docker-registry]${missing ? ` (ignored: ${missing})` : ""}`,
  ignore: missing !== undefined,
}, async () => {
  const bed = await testbed();
  const image = `tm-${uniqueTestName("registry-push")}:peer`;
  const tagged = await new Deno.Command("docker", { args: ["tag", bed.peerImage, image] }).output();
  assertEquals(tagged.code, 0);
  const local = DockerEngine.local();
  const registry = await startTestRegistry(bed);
  try {
    const signal = AbortSignal.timeout(120_000);
    const pushed = await pushImages({ registry: registry.address, images: [image], local, signal });
    const { repo, tag } = registryReference(registry.address, image);
    const served = await fetch(
      `http://${registry.address}/v2/${repo.split("/")[1]}/manifests/${tag}`,
      {
        method: "HEAD",
        headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
      },
    );
    const digest = served.headers.get("Docker-Content-Digest");
    assert(digest?.startsWith("sha256:"), `the registry's digest: ${digest}`);
    assertEquals(pushed.get(image)?.pinned, `${repo}@${digest}`);
    assertEquals(pushed.get(image)?.created, true);
    assertEquals((await local.images([`${repo}:${tag}`])).get(`${repo}:${tag}`) != null, true);

    assertEquals((await removePushedReferences(local, [...pushed.values()])).size, 0);
    const after = await local.images([`${repo}:${tag}`, image]);
    assertEquals([after.get(`${repo}:${tag}`), after.get(image) != null], [null, true]);

    const nowhere = `127.0.0.1:${freePort()}`;
    const error = await assertRejects(
      () => pushImages({ registry: nowhere, images: [image], local, signal }),
      RegistryPushError,
    );
    assertEquals([error.image, error.registry], [image, nowhere]);
    const { repo: lost, tag: lostTag } = registryReference(nowhere, image);
    assertEquals((await local.images([`${lost}:${lostTag}`])).get(`${lost}:${lostTag}`), null);
  } finally {
    await registry.stop();
    await local.removeImages([image]);
    local.close();
  }
});
