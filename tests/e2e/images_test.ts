/**
 * End to end: `tm` ships an image to a host that lacks it (through the Engine API: this machine's
 * layer store or export, the host's load over SSH) and skips it on the next run, when the host has
 * the same image ID.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { hasImage, workspace } from "../support/e2e.ts";
import { hostDocker } from "../support/testbed.ts";

Deno.test("tm ships an image to the host that lacks it, then skips it on the next run [integration: testbed]", async () => {
  await using ws = await workspace("images");
  const { bed } = ws;
  // A tag of the peer image that exists only here: host B lacks it whatever other tests shipped.
  const image = `tm-${ws.name}:ship`;
  const tagged = await hostDocker(bed.hostA, ["tag", bed.peerImage, image]);
  assertEquals(tagged.code, 0, tagged.stderr);
  try {
    assert(!(await hasImage(bed.hostB, image)));
    const config = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [image],
      hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
      peers: [{ name: "here", image, runs_on: "a" }, { name: "there", image, runs_on: "b" }],
      commands: [{ time: 0, peer: "there", command: "pull" }],
    });

    const first = await ws.run([config]);
    const firstOutput = `${first.stdout}\n${first.stderr}`;
    assertEquals(first.code, 0, firstOutput);
    assert(first.stdout.includes(`ship ${image} → hostb: started`), firstOutput);
    assert(first.stdout.includes(`shipped ${image} to hostb: `), firstOutput);
    assert(!first.stdout.includes(`ship ${image} → hosta`), firstOutput);
    // A host that holds the image is said at normal verbosity, one line per image and host.
    assert(first.stdout.includes(`${image} on hosta: already held (same image ID)`), firstOutput);
    const firstLog = await ws.logText();
    assert(firstLog.includes(`IMAGE   ${image} on hosta: already held (same image ID)`), firstLog);
    assert(await hasImage(bed.hostB, image), "the image is on host B after the first run");

    const second = await ws.run([config]);
    const secondOutput = `${second.stdout}\n${second.stderr}`;
    assertEquals(second.code, 0, secondOutput);
    assert(!second.stdout.includes(`ship ${image} →`), secondOutput);
    const log = await ws.logText();
    assert(log.includes(`IMAGE   ${image} on hostb: already held (same image ID)`), log);
    assert(log.includes(`IMAGE   ${image} on hosta: already held (same image ID)`), log);
    assert(!new RegExp(`ship ${image} → host[ab]: started|shipped ${image} to`).test(log), log);
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  } finally {
    await hostDocker(bed.hostA, ["rmi", image]);
    await hostDocker(bed.hostB, ["rmi", image]);
  }
});

Deno.test("tm ships each peer image to the hosts its peers are placed on, with no images list [integration: testbed]", async () => {
  await using ws = await workspace("byplace");
  const { bed } = ws;
  // Two tags of the peer image that exist only here, one per host's peers.
  const forB = `tm-${ws.name}:b`;
  const forA = `tm-${ws.name}:a`;
  for (const image of [forA, forB]) {
    const tagged = await hostDocker(bed.hostA, ["tag", bed.peerImage, image]);
    assertEquals(tagged.code, 0, tagged.stderr);
  }
  try {
    assert(!(await hasImage(bed.hostB, forB)));
    const config = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
      peers: [{ name: "here", image: forA, runs_on: "a" }, {
        name: "there",
        image: forB,
        runs_on: "b",
      }],
      commands: [{ time: 0, peer: "there", command: "pull" }],
    });

    const result = await ws.run([config]);
    const output = `${result.stdout}\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    assert(result.stdout.includes(`shipped ${forB} to hostb: `), output);
    // Host A already holds both (it is this machine); host B gets only its own peer's image.
    assert(!result.stdout.includes(`ship ${forA} →`), output);
    assert(await hasImage(bed.hostB, forB), "host B has its peer's image after the run");
    assert(
      !(await hasImage(bed.hostB, forA)),
      "host B never receives an image none of its peers runs",
    );
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  } finally {
    for (const image of [forA, forB]) {
      await hostDocker(bed.hostA, ["rmi", image]);
      await hostDocker(bed.hostB, ["rmi", image]);
    }
  }
});

Deno.test("tm run --verbose does a run's Docker work through the Engine API: images pulled, exported, loaded, removed, and no docker command line [integration: testbed]", async () => {
  await using ws = await workspace("apiship");
  const { bed } = ws;
  const image = `tm-${ws.name}:api`;
  const tagged = await hostDocker(bed.hostA, ["tag", bed.peerImage, image]);
  assertEquals(tagged.code, 0, tagged.stderr);
  try {
    const config = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [image],
      remove_images: true,
      hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
      peers: [{ name: "here", image, runs_on: "a" }, { name: "there", image, runs_on: "b" }],
      commands: [
        { time: 0, peer: "there", command: "pull" },
        { time: 1, fault: "pause", peer: "there" },
        { time: 2, fault: "resume", peer: "there" },
      ],
    });
    const result = await ws.run([config, "--verbose"]);
    const output = `${result.stdout}\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    assert(result.stdout.includes(`shipped ${image} to hostb: `), output);
    // Every Docker operation of the run is an API call, traced with its duration.
    for (
      const call of [
        /API POST \/v1\.\d+\/images\/create /, // the pull on this machine
        /hostb: API POST \/v1\.\d+\/images\/load \d+ ms, ok$/m,
        /hostb: API GET \/v1\.\d+\/info \d+ ms, ok$/m,
        /hostb: API DELETE \/v1\.\d+\/images\/\S+ \d+ ms, ok$/m, // remove_images
        /hostb: API POST \/v1\.\d+\/containers\/\S+\/pause \d+ ms, ok$/m,
      ]
    ) assert(call.test(output), `${call} in\n${output}`);
    // No docker command line: the trace shows commands as `host: \`argv\`` and shell lines as
    // `host: shell \`…\``; the local Redis container's CLI is not traced at all.
    const commandLines = output.split("\n").filter((line) => /`[^`]*\bdocker\b/.test(line));
    assertEquals(commandLines, []);
  } finally {
    await hostDocker(bed.hostA, ["rmi", image]);
    await hostDocker(bed.hostB, ["rmi", image]);
  }
});
