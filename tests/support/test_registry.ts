/**
 * Test support: a Docker registry for a test (Debian's `docker-registry`, `registry serve` with
 * a config of its own in a temp dir: plain HTTP, no auth, deletion off, storage in the temp dir),
 * reached as `127.0.0.1:<port>` from host A's namespace and from host B's. Both engines treat
 * 127.0.0.0/8 as an insecure registry by default (dockerd's built-in `insecure-registries`), so
 * neither needs a restart: the registry listens on host A's 127.0.0.1, a forwarder on host A's
 * test bed address (where host B reaches host A) passes host B's connections to it, and a
 * forwarder inside host B's namespace listens on its own 127.0.0.1 with the same port. `stop()`
 * ends all three processes and removes the temp dir.
 */
import { freePort } from "./redis_server.ts";
import type { Testbed } from "./testbed.ts";
import { eventually } from "./until.ts";

/** The registry binary Debian's `docker-registry` package installs. */
export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export interface TestRegistry {
  /** `127.0.0.1:<port>`: what the swarm entry's `registry:` gives. */
  readonly address: string;
  /** The repositories the registry holds (`GET /v2/_catalog`). */
  catalog(): Promise<string[]>;
  /** Ends the registry and its forwarders, removes its storage; idempotent. */
  stop(): Promise<void>;
}

/** Why no registry can be started here (the package is missing), for a test's `ignore`. */
export function registryMissing(): string | undefined {
  try {
    Deno.statSync(REGISTRY_BINARY);
    return undefined;
  } catch {
    return `${REGISTRY_BINARY} is missing (apt-get install docker-registry)`;
  }
}

const FORWARDER = new URL("./tcp_forward.ts", import.meta.url).pathname;

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(args[0], {
    args: args.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

/** Waits for a forwarder's `listening` line. */
async function listening(child: Deno.ChildProcess, what: string): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  reader.releaseLock();
  if (!first.value?.includes("listening")) throw new Error(`${what} did not start`);
}

/**
 * Starts a registry that both test bed engines reach as `127.0.0.1:<port>`; with
 * `{ hostB: false }`, only host A's (no forwarder: host B's engine cannot pull from it).
 */
export async function startTestRegistry(
  bed: Testbed,
  options: { hostB?: boolean } = {},
): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "tm-registry-" });
  const port = freePort();
  const address = `127.0.0.1:${port}`;
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log: { level: warn }",
      `storage: { filesystem: { rootdirectory: ${dir}/storage } }`,
      `http: { addr: "${address}" }`,
      "",
    ].join("\n"),
  );
  const children: Deno.ChildProcess[] = [];
  let registry: Deno.ChildProcess | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const child of children) {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already ended.
      }
      await child.status;
      // The registry's own streams are not piped: only the forwarders' stdout is.
      if (child !== registry) await child.stdout.cancel().catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    registry = new Deno.Command(REGISTRY_BINARY, {
      args: ["serve", `${dir}/config.yml`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    children.push(registry);
    await eventually("the test registry answers", async () => {
      const answer = await fetch(`http://${address}/v2/`).catch(() => undefined);
      await answer?.body?.cancel();
      return answer?.status === 200;
    });
    if (options.hostB === false) return { address, catalog: () => catalog(address), stop };
    const gateway = `${bed.hostB.orchestratorAddress}:${port}`;
    const deno = Deno.execPath();
    const toRegistry = spawn([deno, "run", "--allow-net", FORWARDER, gateway, address]);
    children.push(toRegistry);
    await listening(toRegistry, `the forwarder on ${gateway}`);
    const inHostB = spawn([
      "ip",
      "netns",
      "exec",
      bed.hostB.netns,
      deno,
      "run",
      "--allow-net",
      FORWARDER,
      address,
      gateway,
    ]);
    children.push(inHostB);
    await listening(inHostB, `the forwarder in ${bed.hostB.netns}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, catalog: () => catalog(address), stop };
}

async function catalog(address: string): Promise<string[]> {
  const answer = await fetch(`http://${address}/v2/_catalog`);
  return ((await answer.json()) as { repositories?: string[] }).repositories ?? [];
}
