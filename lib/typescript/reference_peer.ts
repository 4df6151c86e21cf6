/**
 * Reference peer: answers every standard command with realistic statuses and log lines. tm's
 * own tests run it as their peer, and it is the example to copy when writing a peer.
 *
 * Environment: `REDIS_URL`, `PEER_NAME`, `LOG_LEVEL` (see mod.ts), `LISTEN_ADDR` (its UDP port
 * goes into the advertised multiaddr), `ADVERTISE_IP` (default: the first non-loopback IPv4),
 * `TM_DELAY_FILE` (where `restart|<secs>` writes the delay; default `/tmp/delay`),
 * `MULE_CONNECT_TIMEOUT`. Test hooks (reference peer only): `REF_PEER_START_DELAY_MS`,
 * `REF_PEER_NEVER_START=1`, `REF_PEER_IGNORE_SHUTDOWN=1`, `REF_PEER_ECHO_ENV=<NAME,...>`,
 * `REF_PEER_UDP_ECHO=1` (a UDP echo on the listen port, see udp_echo.ts), and the commands
 * `exit|<code>`, `fail|<reason>`, `log-burst|<n>` and `probe|<ip>:<port>|<count>` (with the UDP
 * echo: times `count` round trips to another peer's echo, one line each, `rtt <ip>:<port> <ms>`
 * or `rtt <ip>:<port> timeout`).
 * Every reference peer (TypeScript, Python, Go, Rust) answers with the same statuses and log
 * lines, byte for byte: lib/conformance/ checks it.
 */
import { type MuleClient, MuleClientBuilder, parseCommand } from "./mod.ts";
import { parseTarget, UdpEcho } from "./udp_echo.ts";

export { RESTART_EXIT_CODE } from "./mod.ts";

/** A deterministic identifier derived from the peer's name (stands in for a real VLAD). */
export async function vladFor(name: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `vlad-${hex.slice(0, 32)}`;
}

/** The UDP port of a `/ip4/<ip>/udp/<port>/quic-v1` multiaddr; undefined if there is none. */
export function listenPort(listenAddr: string | undefined): number | undefined {
  const match = listenAddr?.match(/\/udp\/(\d+)(\/|$)/);
  if (!match) return undefined;
  const port = Number(match[1]);
  return port >= 0 && port <= 65_535 ? port : undefined;
}

/** `ADVERTISE_IP`, else the first non-loopback IPv4 of this machine, else 127.0.0.1. */
export function advertiseIp(env: { get(key: string): string | undefined } = Deno.env): string {
  const chosen = env.get("ADVERTISE_IP");
  if (chosen) return chosen;
  try {
    const found = Deno.networkInterfaces().find((i) =>
      i.family === "IPv4" && !i.address.startsWith("127.")
    );
    if (found) return found.address;
  } catch {
    // no permission or no interfaces: fall through
  }
  return "127.0.0.1";
}

function envFlag(name: string): boolean {
  const value = Deno.env.get(name);
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

function envMs(name: string): number {
  const value = Number(Deno.env.get(name) ?? "0");
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Test hook: one `env <NAME>=<JSON string>` line per variable named in `REF_PEER_ECHO_ENV`
 * (comma-separated), `null` for an unset one. JSON keeps any value on one line, exactly.
 */
export function echoedEnvironment(
  env: { get(key: string): string | undefined } = Deno.env,
): string[] {
  const names = (env.get("REF_PEER_ECHO_ENV") ?? "").split(",").map((n) => n.trim());
  return names.filter((n) => n !== "").map((n) => `env ${n}=${JSON.stringify(env.get(n) ?? null)}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the peer knows about the network it pretends to be part of. */
interface PeerState {
  vlad: string;
  multiaddr: string;
  connected: boolean;
  bootstrap: Map<string, string>;
  tracked: Set<string>;
  keyGeneration: number;
  pushed: number;
  pulled: number;
  /** The UDP echo, when `REF_PEER_UDP_ECHO` is set and the port could be bound. */
  echo?: UdpEcho;
}

/** Most round trips one `probe` command times. */
const MAX_PROBES = 1_000;

/** Delay between `connecting` and `connected` (and `disconnecting`/`disconnected`). */
const TRANSITION_MS = 20;

/**
 * Handles one command. Resolves to an exit code when the peer must exit, else undefined.
 */
export async function handleCommand(
  client: MuleClient,
  state: PeerState,
  command: string,
): Promise<number | undefined> {
  const log = client.log;
  log.debug(`received command: ${command}`);
  const parsed = parseCommand(command);
  switch (parsed.kind) {
    case "connect": {
      if (state.connected) {
        log.warn("connect: already connected");
        await client.sendStatus("connected");
        return;
      }
      await client.sendStatus("connecting");
      log.info(`connecting to the network via ${state.bootstrap.size} bootstrap peer(s)`);
      for (const [vlad, addr] of state.bootstrap) log.debug(`dialing ${vlad} at ${addr}`);
      await sleep(TRANSITION_MS);
      state.connected = true;
      await client.sendStatus("connected");
      log.info(`connected as ${state.vlad} on ${state.multiaddr}`);
      return;
    }
    case "disconnect": {
      await client.sendStatus("disconnecting");
      log.info("disconnecting from the network");
      await sleep(TRANSITION_MS);
      state.connected = false;
      await client.sendStatus("disconnected");
      log.info("disconnected");
      return;
    }
    case "shutdown":
      return await shutdown(client);
    case "restart":
      // Status restarting, delay file, info line, flush, close, exit 42: never returns.
      return await client.restart(parsed.delay);
    case "peer": {
      const [vlad, ...addr] = parsed.address.split("|");
      if (!vlad) {
        log.warn(`peer: expected peer|<address info>, got ${JSON.stringify(command)}`);
        return;
      }
      state.bootstrap.set(vlad, addr.join("|"));
      log.info(`adding bootstrap peer: ${vlad} at ${addr.join("|") || "(no address)"}`);
      return;
    }
    case "other":
      return await handleOther(client, state, command);
  }
}

/** Sets `stopped` and asks for exit 0, unless `REF_PEER_IGNORE_SHUTDOWN` is set. */
async function shutdown(client: MuleClient): Promise<number | undefined> {
  if (envFlag("REF_PEER_IGNORE_SHUTDOWN")) {
    client.log.warn("ignoring shutdown (REF_PEER_IGNORE_SHUTDOWN is set)");
    return;
  }
  client.log.info("shutting down");
  await client.sendStatus("stopped");
  return 0;
}

/** The commands `parseCommand` leaves as `other`: the peer's own verbs, test hooks, mistakes. */
async function handleOther(
  client: MuleClient,
  state: PeerState,
  command: string,
): Promise<number | undefined> {
  const log = client.log;
  const [verb, ...rest] = command.split("|");
  const arg = rest.join("|");
  switch (verb) {
    case "push": {
      const [to, ...words] = rest;
      if (!to) {
        log.warn(`push: expected push|<peer>|<message>, got ${JSON.stringify(command)}`);
        return;
      }
      if (!state.connected) log.warn(`push to ${to} while not connected`);
      state.pushed++;
      log.info(`push to ${to}: ${words.join("|")}`);
      return;
    }
    case "pull": {
      if (!state.connected) log.warn("pull while not connected");
      state.pulled++;
      log.info(`pulled messages (pull #${state.pulled}; ${state.pushed} pushed by this peer)`);
      return;
    }
    case "rotate-key": {
      state.keyGeneration++;
      log.info(`rotated key: now at generation ${state.keyGeneration}`);
      return;
    }
    case "track": {
      if (!arg) {
        log.warn(`track: expected track|<peer>, got ${JSON.stringify(command)}`);
        return;
      }
      state.tracked.add(arg);
      log.info(`tracking ${arg} (${state.tracked.size} tracked)`);
      return;
    }
    case "peer":
      log.warn(`peer: expected peer|<address info>, got ${JSON.stringify(command)}`);
      return;
    case "restart":
      log.warn(`restart: expected restart|<seconds>, got ${JSON.stringify(command)}`);
      return;
    case "log-burst": {
      // Conformance hook: n lines, then shutdown; none may be lost when the peer exits.
      if (!/^\d+$/.test(arg)) break;
      const count = Number(arg);
      for (let i = 1; i <= count; i++) log.info(`burst ${i}`);
      return await shutdown(client);
    }
    case "fail": {
      // Test hook: the peer reports a failure of its own (status failed|<reason>) and carries on.
      log.warn(`reporting failed: ${arg}`);
      await client.fail(arg);
      return;
    }
    case "probe": {
      // Test hook: times round trips to another peer's UDP echo, in the background so the
      // peer keeps answering commands meanwhile.
      const [where, times] = rest;
      const target = parseTarget(where ?? "");
      const count = Number(times ?? "1");
      if (!target || !Number.isInteger(count) || count < 1 || count > MAX_PROBES) break;
      if (!state.echo) {
        log.warn("probe: needs the UDP echo (REF_PEER_UDP_ECHO=1)");
        return;
      }
      void probe(client, state.echo, target, count);
      return;
    }
    case "exit": {
      // Test hook: die at once, like a crash (nothing flushed, no status).
      const code = Number(arg);
      Deno.exit(Number.isInteger(code) && code >= 0 && code <= 255 ? code : 1);
      return;
    }
  }
  log.warn(`unknown command: ${command}`);
}

/** Logs `rtt <ip>:<port> <ms>` (or `timeout`) for each of `count` round trips, one at a time. */
async function probe(
  client: MuleClient,
  echo: UdpEcho,
  target: { host: string; port: number },
  count: number,
): Promise<void> {
  const address = `${target.host}:${target.port}`;
  try {
    for (let i = 0; i < count; i++) {
      const ms = await echo.roundTrip(target.host, target.port);
      client.log.info(`rtt ${address} ${ms === null ? "timeout" : ms.toFixed(1)}`);
    }
  } catch {
    // The echo or the client closed under the probe (shutdown): a probe cut short measured
    // nothing, and there is nothing left to report to.
  }
}

/** Runs the peer until shutdown, restart or a signal; returns its exit code. */
export async function main(): Promise<number> {
  const client = await new MuleClientBuilder().echoLogs().build();
  const name = client.peerName;
  const listenAddr = Deno.env.get("LISTEN_ADDR");
  let port = listenPort(listenAddr);
  if (port === undefined) {
    client.log.warn(`LISTEN_ADDR ${JSON.stringify(listenAddr ?? "")} has no UDP port; using 0`);
    port = 0;
  }
  const state: PeerState = {
    vlad: await vladFor(name),
    multiaddr: `/ip4/${advertiseIp()}/udp/${port}/quic-v1`,
    connected: false,
    bootstrap: new Map(),
    tracked: new Set(),
    keyGeneration: 0,
    pushed: 0,
    pulled: 0,
  };
  if (envFlag("REF_PEER_UDP_ECHO")) {
    try {
      state.echo = await UdpEcho.open(port);
    } catch (error) {
      client.log.warn(`UDP echo: cannot bind port ${port}: ${(error as Error).message}`);
    }
  }

  // SIGTERM (docker stop, tm's teardown): status stopped, logs flushed, exit 0.
  client.stopOnSigterm();
  let stopping: number | undefined;
  const onInt = () => {
    client.log.info("received SIGINT, exiting");
    stopping = 130;
    // Closing ends the command iteration below; cap the wait so the exit stays prompt.
    const forced = setTimeout(() => Deno.exit(130), 1_000);
    client.close().finally(() => clearTimeout(forced));
  };
  Deno.addSignalListener("SIGINT", onInt);

  try {
    client.log.info(`${name} starting: ${state.vlad} on ${state.multiaddr}`);
    for (const line of echoedEnvironment()) client.log.info(line);
    const startDelay = envMs("REF_PEER_START_DELAY_MS");
    if (startDelay) {
      client.log.info(`delaying start by ${startDelay} ms (REF_PEER_START_DELAY_MS)`);
      await sleep(startDelay);
    }
    if (envFlag("REF_PEER_NEVER_START")) {
      client.log.warn("never reporting started (REF_PEER_NEVER_START is set)");
    } else {
      await client.sendStatus(`started|${state.vlad}|${state.multiaddr}`);
    }
    for await (const command of client) {
      const code = await handleCommand(client, state, command);
      if (code !== undefined) return code;
    }
    return stopping ?? 0;
  } catch (error) {
    // A signal closed the client under a command in progress: that is the signal's exit.
    if (stopping !== undefined) return stopping;
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    state.echo?.close();
    await client.close();
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    // One line naming the problem (a missing variable, an unreachable Redis): no stack trace.
    console.error(`typescript reference peer: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
