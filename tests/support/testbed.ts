/**
 * Test support: the two-host testbed of `scripts/testbed/` (host A = this machine's testbed sshd,
 * host B = a network namespace with its own dockerd and sshd). `testbed()` runs setup.sh once per
 * process (idempotent, about a second when the testbed is already up) and returns its facts.
 * The testbed is one per machine and shared by concurrent test processes, so tests leave it up;
 * `TM_TESTBED_TEARDOWN=1` tears it down when the process exits (CI), `teardownTestbed()` at once.
 * Tests that use it say `[integration: testbed]` in their names.
 */
import type { SshOptions } from "../../src/hosts/ssh.ts";

const SCRIPTS = new URL("../../scripts/testbed/", import.meta.url).pathname;

/** One testbed host, as the orchestrator reaches it. */
export interface TestbedHost {
  /** Display name: `hosta` or `hostb`. */
  readonly name: string;
  /** SSH address and port. */
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Private key authorised on the host (ed25519, unencrypted). */
  readonly key: string;
  /** The orchestrator's address as the host sees it (first field of `$SSH_CONNECTION`). */
  readonly orchestratorAddress: string;
  /** `DOCKER_HOST` of the host's engine, for driving it from this machine directly. */
  readonly dockerHost: string;
}

export interface Testbed {
  /** The `.testbed` directory (keys, sshd configs, logs, `env`). */
  readonly dir: string;
  /** known_hosts listing both hosts' keys (host B offers ed25519 and ECDSA). */
  readonly knownHostsPath: string;
  readonly hostA: TestbedHost;
  readonly hostB: TestbedHost & { readonly netns: string };
  /** `tm-redis:test`: redis-server FROM scratch, `--protected-mode no`, port 6379. */
  readonly redisImage: string;
  /** `tm-ref-peer:test`: the TypeScript reference peer behind lib/entrypoint.sh. */
  readonly peerImage: string;
}

let ready: Promise<Testbed> | null = null;

/** Sets the testbed up (once per process) and returns its facts. */
export function testbed(): Promise<Testbed> {
  ready ??= setUp().catch((error) => {
    ready = null;
    throw error;
  });
  return ready;
}

/**
 * Removes every container and image from host B's engine (for tests that need it empty, e.g.
 * image shipping). Host B is shared: only call this from tests that own it for their duration.
 */
export async function emptyHostB(): Promise<void> {
  await testbed();
  await run("setup.sh", ["--fresh-hostb", "--no-images"]);
}

/** Tears the whole testbed down now (processes, namespace, state; images unless kept). */
export async function teardownTestbed(options: { keepImages?: boolean } = {}): Promise<void> {
  ready = null;
  await run("teardown.sh", options.keepImages ? ["--keep-images"] : []);
}

/** SshRemote options for a testbed host, checking host keys against the testbed's known_hosts. */
export function sshOptions(
  bed: Testbed,
  host: TestbedHost,
  overrides: Partial<SshOptions> = {},
): SshOptions {
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    auth: host.key,
    knownHostsPath: bed.knownHostsPath,
    ...overrides,
  };
}

/** Runs the docker CLI against a testbed host's engine (or any engine) directly (not over SSH). */
export async function hostDocker(
  host: Pick<TestbedHost, "dockerHost">,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command("docker", {
    args: ["-H", host.dockerHost, ...args],
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function setUp(): Promise<Testbed> {
  const facts = parseFacts(await run("setup.sh", []));
  const get = (key: string): string => {
    const value = facts.get(`TM_TESTBED_${key}`);
    if (value === undefined) throw new Error(`setup.sh did not print TM_TESTBED_${key}`);
    return value;
  };
  const host = (prefix: "HOSTA" | "HOSTB"): TestbedHost => ({
    name: get(`${prefix}_NAME`),
    address: get(`${prefix}_ADDRESS`),
    port: Number(get(`${prefix}_PORT`)),
    user: get("USER"),
    key: get("KEY"),
    orchestratorAddress: get(`${prefix}_ORCHESTRATOR_ADDRESS`),
    dockerHost: get(`${prefix}_DOCKER_HOST`),
  });
  if (Deno.env.get("TM_TESTBED_TEARDOWN") === "1") registerTeardownAtExit();
  return {
    dir: get("DIR"),
    knownHostsPath: get("KNOWN_HOSTS"),
    hostA: host("HOSTA"),
    hostB: { ...host("HOSTB"), netns: get("HOSTB_NETNS") },
    redisImage: get("REDIS_IMAGE"),
    peerImage: get("PEER_IMAGE"),
  };
}

/** Parses setup.sh's `KEY=VALUE` lines. */
export function parseFacts(text: string): Map<string, string> {
  const facts = new Map<string, string>();
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) facts.set(line.slice(0, at), line.slice(at + 1));
  }
  return facts;
}

async function run(script: string, args: string[]): Promise<string> {
  const output = await new Deno.Command("bash", {
    args: [SCRIPTS + script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  if (!output.success) {
    throw new Error(`scripts/testbed/${script} failed (exit ${output.code}):\n${stderr}`);
  }
  return new TextDecoder().decode(output.stdout);
}

let registered = false;
function registerTeardownAtExit(): void {
  if (registered) return;
  registered = true;
  globalThis.addEventListener("unload", () => {
    new Deno.Command("bash", {
      args: [SCRIPTS + "teardown.sh", "--keep-images"],
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).outputSync();
  });
}
