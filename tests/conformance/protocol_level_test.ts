/**
 * `run.ts --level protocol` checks what tm relies on and nothing of our libraries: a peer written
 * from the protocol document alone (tests/conformance/peers/plain_peer.py: redis-py, no client
 * library, `started` without address info, /tmp/delay) passes it, and a peer that breaks one
 * rule (peers/broken_peer.py) fails with a message naming the step, what was expected and what
 * came. Both run on lib/python/.venv's redis-py (lib/python/check.sh creates it).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { exists, ROOT } from "../support/reference_peers.ts";

const RUNNER = `${ROOT}lib/conformance/run.ts`;
const PYTHON = "lib/python/.venv/bin/python";
const PEERS = "tests/conformance/peers";
const noVenv = exists(PYTHON) ? undefined : `${PYTHON} is missing: run lib/python/check.sh`;
if (noVenv) console.warn(`protocol level: not checked: ${noVenv}`);

/** Runs the conformance runner with `args`; its exit code and stdout lines. */
async function conformance(...args: string[]): Promise<{ code: number; lines: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", RUNNER, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(stderr.trim(), "", stderr);
  return { code: out.code, lines: stdout.trim().split("\n") };
}

Deno.test({
  name:
    "conformance --level protocol (the default): a peer written from the protocol document alone passes every case [integration: redis]",
  ignore: noVenv !== undefined,
  fn: async () => {
    const { code, lines } = await conformance("--peer-cmd", `${PYTHON} ${PEERS}/plain_peer.py`);
    assertEquals(lines.filter((l) => !l.startsWith("pass protocol: ")).slice(0, -1), []);
    assertEquals(lines.at(-1), "6 passed, 0 failed, 0 skipped", lines.join("\n"));
    assertEquals(code, 0);
  },
});

Deno.test({
  name:
    "conformance --level protocol: the seed guide's peer, written for the original library, passes every case on ours [integration: redis]",
  ignore: noVenv !== undefined,
  fn: async () => {
    const peer = `${PYTHON} lib/python/examples/my_peer.py`;
    const { code, lines } = await conformance("--peer-cmd", peer);
    assertEquals(lines.at(-1), "6 passed, 0 failed, 0 skipped", lines.join("\n"));
    assertEquals(code, 0);
  },
});

/** Each broken rule: the case it fails (--filter) and what its FAIL line must say. */
const BROKEN: { rule: string; filter: string; says: string[] }[] = [
  {
    rule: "lifo",
    filter: "FIFO",
    says: ["quinn_command holds 51 command(s) after the peer exited, expected 0", "BLPOP"],
  },
  {
    rule: "bare-logs",
    filter: "stopped after shutdown",
    says: ['log line #1 "received: shutdown" is not "level|message"'],
  },
  {
    rule: "db0",
    filter: "database 3",
    says: [
      'step 1 (await status "started" or "started|<address info>"): never came',
      "it SET trent_status in database 0: select database 3",
    ],
  },
  {
    rule: "lose-logs",
    filter: "no log line lost",
    says: ["log lines lost: lines name the first ", 'none names "conformance-note|'],
  },
  {
    rule: "no-delay",
    filter: "restart",
    says: ["step 3 (restart as the entrypoint does", "exit 42 but no delay file"],
  },
  {
    rule: "no-stopped",
    filter: "stopped after shutdown",
    says: ['statuses as tm reads them: 1 of 2, first missing #2 "stopped"'],
  },
  {
    rule: "idle-timeout",
    filter: "however long",
    says: ["step 2 (send nothing for 6s): the peer exited (code 1)", "TimeoutError"],
  },
];

for (const { rule, filter, says } of BROKEN) {
  Deno.test({
    name:
      `conformance --level protocol: a peer that breaks the protocol (${rule}) fails with what was expected and what came [integration: redis]`,
    ignore: noVenv !== undefined,
    fn: async () => {
      const { code, lines } = await conformance(
        "--peer-cmd",
        `${PYTHON} ${PEERS}/broken_peer.py ${rule}`,
        "--filter",
        filter,
        "--case-timeout",
        "10",
      );
      const failed = lines.filter((l) => l.startsWith("FAIL protocol: "));
      assertEquals(failed.length, 1, lines.join("\n"));
      for (const text of says) assert(failed[0].includes(text), `${text}\nnot in\n${failed[0]}`);
      assertEquals(code, 1);
    },
  });
}
