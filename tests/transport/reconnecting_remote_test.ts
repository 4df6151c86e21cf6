import { type Duplex, PassThrough } from "node:stream";
import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import {
  backoffDelay,
  type Clock,
  type ConnectionEvent,
  HostLostError,
  ReconnectingRemote,
} from "../../src/transport/reconnecting_remote.ts";
import type { ExecResult, Remote, RemoteProcess } from "../../src/transport/remote.ts";
import { RemoteError } from "../../src/transport/remote.ts";

/** A clock whose sleeps return at once, moving time forward; records every sleep. */
class FakeClock implements Clock {
  current = 0;
  readonly sleeps: number[] = [];
  now() {
    return this.current;
  }
  sleep(ms: number, signal: AbortSignal) {
    if (signal.aborted) return Promise.reject(signal.reason);
    this.sleeps.push(ms);
    this.current += ms;
    return Promise.resolve();
  }
}

/** A connection that answers every command with its own id, and can be dropped. */
class FakeRemote implements Remote {
  readonly name = "hostb";
  readonly #disconnected = new AbortController();
  closed = false;
  constructor(readonly id: number) {}
  get disconnected() {
    return this.#disconnected.signal;
  }
  /** The host or the network drops the connection. */
  drop() {
    this.#disconnected.abort(new RemoteError(this.name, "unreachable", "connection reset"));
  }
  orchestratorAddress() {
    return Promise.resolve("10.0.0.1");
  }
  execute(argv: string[]): Promise<ExecResult> {
    if (this.#disconnected.signal.aborted) return Promise.reject(this.#disconnected.signal.reason);
    return Promise.resolve({ code: 0, stdout: `${this.id}:${argv.join(" ")}`, stderr: "" });
  }
  spawn(): RemoteProcess {
    throw new Error("not used");
  }
  /** A stream standing for a socket, telling which connection opened it. */
  dialSocket(path: string): Promise<Duplex> {
    if (this.#disconnected.signal.aborted) return Promise.reject(this.#disconnected.signal.reason);
    return Promise.resolve(Object.assign(new PassThrough(), { dialed: `${this.id}:${path}` }));
  }
  close() {
    this.closed = true;
    if (!this.#disconnected.signal.aborted) this.drop();
    return Promise.resolve();
  }
}

/** Connect attempts that fail `failures` times (connection refused), then succeed. */
function connector(failures: number) {
  const opened: FakeRemote[] = [];
  let attempts = 0;
  const connect = (_signal: AbortSignal): Promise<Remote> => {
    attempts++;
    if (attempts <= failures) {
      return Promise.reject(new RemoteError("hostb", "refused", "connection refused"));
    }
    const remote = new FakeRemote(opened.length + 1);
    opened.push(remote);
    return Promise.resolve(remote);
  };
  return { connect, opened, attempts: () => attempts };
}

function setUp(failures: number, giveUpAfterMs = 60_000) {
  const clock = new FakeClock();
  const events: ConnectionEvent[] = [];
  const first = new FakeRemote(0);
  const connecting = connector(failures);
  const remote = new ReconnectingRemote(first, {
    connect: connecting.connect,
    giveUpAfterMs,
    clock,
    onEvent: (event) => events.push(event),
  });
  return { clock, events, first, connecting, remote };
}

Deno.test("backoffDelay doubles from 250 ms and stays at the 5 s cap", () => {
  assertEquals(
    [1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => backoffDelay(attempt)),
    [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000],
  );
  assertEquals(backoffDelay(3, { firstDelayMs: 100, maxDelayMs: 300, factor: 3 }), 300);
});

Deno.test("ReconnectingRemote runs a command issued during an outage on the new connection", async () => {
  const { events, first, connecting, remote } = setUp(0);
  assertEquals((await remote.execute(["docker", "ps"])).stdout, "0:docker ps");
  first.drop();
  assert(!remote.connected, "an outage begins when the connection drops");
  const result = await remote.execute(["docker", "ps"]);
  assertEquals(result.stdout, "1:docker ps");
  assert(remote.connected);
  assertEquals(remote.generation, 1);
  assertEquals(events.map((e) => e.type), ["lost", "restored"]);
  assertEquals(events[1], { type: "restored", attempts: 1, outageMs: 250 });
  assert(first.closed, "the dead connection is closed");
  assertEquals(connecting.attempts(), 1);
});

Deno.test("ReconnectingRemote.dialSocket opens a socket issued during an outage on the new connection", async () => {
  const { first, remote } = setUp(0);
  const before = await remote.dialSocket("/var/run/docker.sock");
  assertEquals((before as unknown as { dialed: string }).dialed, "0:/var/run/docker.sock");
  first.drop();
  const after = await remote.dialSocket("/var/run/docker.sock");
  assertEquals((after as unknown as { dialed: string }).dialed, "1:/var/run/docker.sock");
});

Deno.test("ReconnectingRemote waits the back-off between failed attempts and reports each", async () => {
  const { clock, events, first, remote } = setUp(3);
  first.drop();
  await remote.ready();
  assertEquals(clock.sleeps, [250, 500, 1_000, 2_000]);
  assertEquals(
    events.filter((e) => e.type === "attempt-failed").map((e) =>
      e.type === "attempt-failed" ? [e.attempt, e.nextDelayMs] : []
    ),
    [[1, 500], [2, 1_000], [3, 2_000]],
  );
  assertEquals(events.at(-1), { type: "restored", attempts: 4, outageMs: 3_750 });
});

Deno.test("ReconnectingRemote gives up at the deadline: commands fail with HostLostError naming the host", async () => {
  const { events, first, connecting, remote } = setUp(Infinity, 10_000);
  first.drop();
  const error = await assertRejects(() => remote.execute(["docker", "ps"]), HostLostError);
  assert(
    error.message.startsWith("hostb: connection lost and not restored within 10 s"),
    error.message,
  );
  assert(error.message.includes("connection refused"), error.message);
  // 250 + 500 + 1000 + 2000 + 4000 = 7750 ms, then the last wait is cut to the deadline.
  assertEquals(error.attempts, 5);
  assertEquals(connecting.attempts(), 5);
  assertEquals(events.at(-1)?.type, "gave-up");
  await assertRejects(() => remote.ready(), HostLostError);
  assert(!remote.connected);
});

Deno.test("ReconnectingRemote.reconnect tries again after giving up and restores the connection", async () => {
  const { first, connecting, remote } = setUp(5, 10_000);
  first.drop();
  await assertRejects(() => remote.ready(), HostLostError);
  await remote.reconnect(30_000);
  assert(remote.connected);
  assertEquals((await remote.execute(["true"])).stdout, "1:true");
  assertEquals(connecting.attempts(), 6);
});

Deno.test("ReconnectingRemote.close during an outage stops reconnecting and fails waiting commands", async () => {
  const clock = new FakeClock();
  const first = new FakeRemote(0);
  let attempts = 0;
  const remote = new ReconnectingRemote(first, {
    // The attempt hangs until aborted, as a connection to a silent host does.
    connect: (signal) => {
      attempts++;
      return new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason), { once: true })
      );
    },
    giveUpAfterMs: 60_000,
    clock,
  });
  first.drop();
  const waiting = remote.execute(["docker", "ps"]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(attempts, 1, "an attempt is under way");
  await remote.close();
  await assertRejects(() => waiting, RemoteError);
  assert(remote.disconnected.aborted);
  assertEquals(attempts, 1);
});

Deno.test("ReconnectingRemote cuts off an attempt that hangs at the deadline [real timer]", async () => {
  const first = new FakeRemote(0);
  const reasons: unknown[] = [];
  const remote = new ReconnectingRemote(first, {
    connect: (signal) =>
      new Promise((_, reject) =>
        signal.addEventListener("abort", () => {
          reasons.push(signal.reason);
          reject(signal.reason);
        }, { once: true })
      ),
    giveUpAfterMs: 300,
    clock: { now: () => performance.now(), sleep: () => Promise.resolve() },
  });
  first.drop();
  const error = await assertRejects(() => remote.ready(), HostLostError);
  assert(reasons.length > 0 && reasons.every((r) => r instanceof RemoteError), String(reasons));
  assert(error.message.includes("no connection within"), error.message);
});
