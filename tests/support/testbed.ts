/**
 * Test support: the two-host testbed of `scripts/testbed/` (host A = this machine's testbed sshd,
 * host B = a network namespace with its own dockerd and sshd). `testbed()` runs setup.sh once per
 * test process (idempotent; 1-4 s when the testbed is already up) and returns its facts: `deno
 * test --parallel` runs each test file in a worker of one process, and the workers share that
 * process's environment, where the first setup leaves its facts for the others.
 * The testbed is one per machine and shared by concurrent test processes, so tests leave it up
 * (`.ci/run` tears it down after the suite; `teardownTestbed()` does it at once).
 * Tests that use it say `[integration: testbed]` in their names.
 */
import type { SshOptions } from "../../src/transport/ssh.ts";

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
  ready ??= setUpOnce().then(toTestbed).catch((error) => {
    ready = null;
    throw error;
  });
  return ready;
}

/**
 * Environment variable holding `{pid, facts}` of this process's finished setup: the one state the
 * workers of a `deno test` process share. A child process inherits it with another pid, and sets
 * the testbed up itself.
 */
const SETUP_FACTS_ENV = "TM_TESTBED_SETUP_FACTS";

/** Serialises the workers' first calls, so that one runs setup.sh and the others reuse it. */
const SETUP_LOCK = `${Deno.env.get("TMPDIR") ?? "/tmp"}/tm-testbed-setup.lock`;

/** setup.sh's output, from this process's earlier setup or from running it now. */
async function setUpOnce(): Promise<string> {
  const earlier = () => {
    const raw = Deno.env.get(SETUP_FACTS_ENV);
    const done = raw === undefined ? null : JSON.parse(raw) as { pid: number; facts: string };
    return done?.pid === Deno.pid ? done.facts : null;
  };
  const known = earlier();
  if (known !== null) return known;
  using lock = await Deno.open(SETUP_LOCK, { create: true, write: true });
  await lock.lock(true);
  const facts = earlier() ?? await run("setup.sh", []);
  Deno.env.set(SETUP_FACTS_ENV, JSON.stringify({ pid: Deno.pid, facts }));
  return facts;
}

/** Tears the whole testbed down now (processes, namespace, state; images unless kept). */
export async function teardownTestbed(options: { keepImages?: boolean } = {}): Promise<void> {
  ready = null;
  Deno.env.delete(SETUP_FACTS_ENV);
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

/** The typed facts of setup.sh's output. */
function toTestbed(output: string): Testbed {
  const facts = parseFacts(output);
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

/**
 * Whether this machine's kernel has the netem qdisc; both test bed hosts run on it (host B is a
 * network namespace). Kernels may be built without it (this machine's is).
 */
export async function kernelHasNetem(): Promise<boolean> {
  const output = await new Deno.Command("unshare", {
    args: ["-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ success: false }));
  return output.success;
}
