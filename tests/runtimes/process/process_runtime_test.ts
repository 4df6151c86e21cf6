import { assert, assertEquals } from "../../support/assert.ts";
import { ProcessRuntime } from "../../../src/runtimes/process/process_runtime.ts";
import type { UnstampedEvent } from "../../../src/engine/events.ts";
import type { PlacedPeer } from "../../../src/plan/placement.ts";
import { alive } from "../../support/process_output.ts";
import { until } from "../../support/until.ts";

const placement = (peer: string): PlacedPeer => ({
  peer,
  hostIndex: 0,
  host: "local",
  address: "127.0.0.1",
  port: 11984,
  image: "none",
  listenAddr: "/ip4/0.0.0.0/udp/11984/quic-v1",
});

const context = (events: UnstampedEvent[] = []) => ({
  emit: (event: UnstampedEvent) => events.push(event),
  signal: new AbortController().signal,
});

Deno.test("ProcessRuntime runs a peer again after exit 42 with the delay it wrote, then reports its final exit [integration: processes]", async () => {
  const runtime = new ProcessRuntime({
    command: () => [
      "sh",
      "-c",
      // First run: ask for a restart in 0.05 s. Second run: say so and exit 7.
      'if [ -f "$TM_DELAY_FILE.done" ]; then echo "second run of $PEER_NAME"; exit 7; fi; ' +
      'touch "$TM_DELAY_FILE.done"; echo "first run"; echo 0.05 > "$TM_DELAY_FILE"; exit 42',
    ],
  });
  try {
    await runtime.setup(context());
    const peer = await runtime.start(
      { placement: placement("alice"), env: { PEER_NAME: "alice" } },
      new AbortController().signal,
    );
    const exit = await peer.exited;
    assertEquals(exit.code, 7);
    assertEquals(exit.output.filter((line) => !line.startsWith("process runtime:")), [
      "first run",
      "second run of alice",
    ]);
  } finally {
    await runtime.teardown();
  }
});

Deno.test("ProcessRuntime reports exit 42 without a delay file as a plain exit [integration: processes]", async () => {
  const runtime = new ProcessRuntime({ command: () => ["sh", "-c", "exit 42"] });
  try {
    const peer = await runtime.start(
      { placement: placement("bob"), env: {} },
      new AbortController().signal,
    );
    assertEquals((await peer.exited).code, 42);
  } finally {
    await runtime.teardown();
  }
});

Deno.test("ProcessRuntime keeps only the last output lines [integration: processes]", async () => {
  const runtime = new ProcessRuntime({
    command: () => ["sh", "-c", "for i in $(seq 1 50); do echo line $i; done; echo err >&2"],
    outputLines: 5,
  });
  try {
    const peer = await runtime.start(
      { placement: placement("carol"), env: {} },
      new AbortController().signal,
    );
    const exit = await peer.exited;
    assertEquals(exit.code, 0);
    assertEquals(exit.output.length, 5);
    assert(exit.output.includes("err"));
    assert(exit.output.includes("line 50"));
  } finally {
    await runtime.teardown();
  }
});

Deno.test("ProcessRuntime.teardown() ends every process, SIGKILLs one ignoring SIGTERM, and removes its temp dir [integration: processes]", async () => {
  const events: UnstampedEvent[] = [];
  const runtime = new ProcessRuntime({
    command: (p) =>
      p.peer === "stubborn"
        // Ignores SIGTERM; leaves a background child in its process group too.
        ? ["sh", "-c", "trap '' TERM; sleep 300 & echo ready; while :; do sleep 1; done"]
        : ["sh", "-c", "echo ready; exec sleep 300"],
    graceMs: 200,
  });
  let pids: number[] = [];
  let tempDir = "";
  try {
    await runtime.setup(context(events));
    tempDir = (events.find((e) => e.type === "trace") as { message: string }).message
      .replace(/^process runtime: temp dir /, "");
    assert(Deno.statSync(tempDir).isDirectory);
    const peers = await Promise.all(
      ["stubborn", "polite"].map((name) =>
        runtime.start({ placement: placement(name), env: {} }, new AbortController().signal)
      ),
    );
    pids = runtime.pids;
    assertEquals(pids.length, 2);
    // The stubborn shell must have set its trap before the SIGTERM comes, or it simply dies.
    await until("the stubborn peer ignores SIGTERM", async () => {
      for (const pid of pids) {
        const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
        const ignored = BigInt(`0x${status.match(/^SigIgn:\s*([0-9a-f]+)/m)?.[1] ?? "0"}`);
        if (ignored & (1n << 14n)) return true; // bit 15 - 1: SIGTERM
      }
      return undefined;
    });
    await runtime.teardown({ emit: (event) => events.push(event) });
    const exits = await Promise.all(peers.map((peer) => peer.exited));
    assertEquals(exits.map((exit) => exit.code), [null, null]);
    assert(events.some((e) => e.type === "warning" && e.peer === "stubborn"));
  } finally {
    await runtime.teardown({ force: true });
  }
  assertEquals(runtime.pids, []);
  for (const pid of pids) assert(!alive(pid), `pid ${pid} still alive`);
  const leftovers = new TextDecoder().decode(
    (await new Deno.Command("sh", { args: ["-c", "ps -eo pgid=,args= | grep 'sleep 300' || true"] })
      .output()).stdout,
  );
  for (const pid of pids) {
    assert(!leftovers.split("\n").some((l) => l.trim().startsWith(`${pid} `)), leftovers);
  }
  let removed = false;
  try {
    Deno.statSync(tempDir);
  } catch {
    removed = true;
  }
  assert(removed, `${tempDir} still exists`);
});

Deno.test("ProcessRuntime.teardown({ force }) kills at once without the grace period [integration: processes]", async () => {
  const runtime = new ProcessRuntime({
    command: () => ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
    graceMs: 600_000,
  });
  const peer = await runtime.start(
    { placement: placement("dave"), env: {} },
    new AbortController().signal,
  );
  const pid = runtime.pids[0];
  await runtime.teardown({ force: true });
  assertEquals((await peer.exited).code, null);
  assert(!alive(pid));
});

Deno.test("ProcessRuntime.teardown() ends a restart delay at once [integration: processes]", async () => {
  const { promise: delaying, resolve } = Promise.withResolvers<void>();
  const runtime = new ProcessRuntime({
    command: () => ["sh", "-c", 'echo 600 > "$TM_DELAY_FILE"; exit 42'],
    onOutput: (_peer, line) => {
      if (line.includes("restarting erin in 600s")) resolve();
    },
  });
  try {
    const peer = await runtime.start(
      { placement: placement("erin"), env: {} },
      new AbortController().signal,
    );
    await delaying;
    assertEquals(runtime.pids, []);
    await runtime.teardown();
    assertEquals((await peer.exited).code, null);
  } finally {
    await runtime.teardown();
  }
});
