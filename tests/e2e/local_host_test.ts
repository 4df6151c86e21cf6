/**
 * End to end: a host with `connection: local` is this machine's Docker engine driven directly,
 * with no SSH server and no keys, beside a host reached over SSH; and `deno task demo` (the
 * README's quick start) runs on a machine where SSH is not set up at all.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { existsSync } from "node:fs";
import { nextBasePort, workspace } from "../support/e2e.ts";

/**
 * An environment with no SSH agent and a HOME without keys or known_hosts (Deno's cache stays
 * where it is, so nothing is downloaded again).
 */
async function withoutSsh(): Promise<Record<string, string>> {
  const home = await Deno.makeTempDir({ prefix: "tm-nossh-home-" });
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  return { HOME: home, SSH_AUTH_SOCK: "", DENO_DIR: denoDir };
}

Deno.test("tm runs peers on a connection: local host beside an SSH host, with no SSH for the local one [integration: testbed]", async () => {
  await using ws = await workspace("local");
  const { bed } = ws;
  const env = await withoutSsh();
  try {
    const config = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      hosts: [
        {
          connection: "local",
          name: "here",
          base_port: nextBasePort(),
          tags: ["a"],
        },
        ws.host(bed.hostB, { tags: ["b"] }),
      ],
      peers: [
        { name: "alice", image: bed.peerImage, runs_on: "a", bootstrap: ["bob"] },
        { name: "bob", image: bed.peerImage, runs_on: "b", bootstrap: ["alice"] },
      ],
      commands: [
        { time: 0, peer: "alice", command: "connect" },
        { time: 0, peer: "bob", command: "connect" },
        { time: 0.2, peer: "alice", command: "push|bob|hello" },
      ],
    });
    const result = await ws.run([config], { env });
    const output = `${result.stdout}\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    const lines = await ws.logLines();
    // The local peer reached Redis (host.docker.internal) and got bob's address.
    assert(
      lines.some((l) => l.source === "alice" && l.text.includes("push to bob: hello")),
      output,
    );
    assert(lines.some((l) => l.source === "alice" && l.text.startsWith("adding bootstrap peer")));
    assert(lines.some((l) => l.source === "bob" && l.text.startsWith("adding bootstrap peer")));
    for (const peer of ["alice", "bob"]) {
      const stopped = lines.some((l) =>
        l.source === peer && l.tag === "STATUS" && l.text.startsWith("stopped")
      );
      assert(stopped, `${peer} reported stopped\n${output}`);
    }
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
    // tm never looked for SSH keys or known_hosts for the local host (TM_KNOWN_HOSTS is private).
    assert(!existsSync(`${env.HOME}/.ssh`), "no ~/.ssh was created");
  } finally {
    await Deno.remove(env.HOME, { recursive: true });
  }
});

Deno.test("deno task demo runs the one-peer example on this machine without SSH [integration: docker]", async () => {
  const env = await withoutSsh();
  const cwd = await Deno.makeTempDir({ prefix: "tm-demo-" });
  try {
    const demo = await new Deno.Command("bash", {
      args: [new URL("../../scripts/demo.sh", import.meta.url).pathname],
      cwd,
      env: { ...env, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(demo.stdout) + new TextDecoder().decode(demo.stderr);
    assertEquals(demo.code, 0, output);
    assert(/PASSED/.test(output), output);
  } finally {
    await Deno.remove(cwd, { recursive: true });
    await Deno.remove(env.HOME, { recursive: true });
  }
});
