/**
 * The conformance suite (lib/conformance/run.ts) against every language's reference peer whose
 * library is in the tree: it must pass every case of `--level library` (which includes the
 * protocol's). A peer that does not build fails its test;
 * only a library not merged yet, or a toolchain not installed, skips it (with a message).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { buildPeer, REFERENCE_PEERS, ROOT, unavailable } from "../support/reference_peers.ts";

const RUNNER = `${ROOT}lib/conformance/run.ts`;

for (const peer of REFERENCE_PEERS) {
  const missing = unavailable(peer);
  if (missing) {
    console.warn(`conformance: ${peer.language} reference peer not checked: ${missing}`);
  }
  Deno.test({
    name:
      `conformance suite: the ${peer.language} reference peer passes every case of --level library [integration: redis]`,
    ignore: missing !== undefined,
    fn: async () => {
      await buildPeer(peer);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", RUNNER, "--peer-cmd", peer.command, "--level", "library"],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const report = `${stdout}${new TextDecoder().decode(out.stderr)}`;
      const lines = stdout.trim().split("\n");
      const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/.exec(lines.at(-1) ?? "");
      assert(summary, `no summary line:\n${report}`);
      assertEquals(
        lines.filter((l) => l.startsWith("FAIL ")),
        [],
        `${peer.language} reference peer (${peer.command}):\n${report}`,
      );
      assertEquals([Number(summary[2]), Number(summary[3])], [0, 0], report);
      assert(Number(summary[1]) >= 20, `every case ran:\n${report}`);
      assertEquals(out.code, 0, report);
    },
  });
}

Deno.test("conformance runner prints FAIL with the difference and exits 1 for a peer that does not conform [integration: redis]", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      RUNNER,
      "--peer-cmd",
      "sh -c 'exit 3'",
      "--level",
      "library",
      "--filter",
      "start and",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  assertEquals(lines.length, 2, lines.join("\n"));
  assert(lines[0].startsWith("FAIL start and shutdown"), lines[0]);
  assert(lines[0].includes("step 1 (await status"), lines[0]);
  assert(lines[0].includes("it set no status, then exited with code 3"), lines[0]);
  assertEquals(lines[1], "0 passed, 1 failed, 0 skipped");
  assertEquals(out.code, 1);
});
