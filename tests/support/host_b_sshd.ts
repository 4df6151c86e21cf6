/**
 * Test support: losing host B for real without disturbing anyone else on the shared testbed.
 *
 * `privateSshd()` starts a second sshd inside host B's network namespace, on a port of its own,
 * configured like the testbed's (same host keys, key, DOCKER_HOST), and owned by the test: taking
 * it `down()` kills its listener and every connection it serves, so host B is unreachable for
 * this test only; `up()` brings it back. `killSessions()` kills the sshd processes serving a
 * client's connections to any sshd on host B (the testbed's included), as a dropped connection
 * would end them, while the host itself stays up.
 */
import type { Testbed } from "./testbed.ts";
import { freePort } from "./redis_server.ts";
import { eventually } from "./until.ts";

/** An sshd on host B that only this test uses. */
export interface PrivateSshd extends AsyncDisposable {
  /** Its port on host B's address. */
  readonly port: number;
  /** Kills the listener and every connection it serves; the host is unreachable from now on. */
  down(): Promise<void>;
  /** Starts the listener again and waits until it accepts connections. */
  up(): Promise<void>;
}

/**
 * Starts a private sshd on host B and records its host keys for `[address]:port` in
 * `knownHostsPath` (the test's private copy).
 */
export async function privateSshd(bed: Testbed, knownHostsPath: string): Promise<PrivateSshd> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "tm-private-sshd-" });
  const base = await Deno.readTextFile(`${bed.dir}/hostb/sshd_config`);
  const config = base.split("\n")
    .filter((line) => !/^(ListenAddress|PidFile)\b/.test(line))
    .concat([`ListenAddress ${bed.hostB.address}:${port}`, `PidFile ${dir}/sshd.pid`])
    .join("\n");
  await Deno.writeTextFile(`${dir}/sshd_config`, config + "\n");
  const keys: string[] = [];
  for (const type of ["ed25519", "ecdsa"]) {
    const pub = await Deno.readTextFile(`${bed.dir}/hostb/ssh_host_${type}_key.pub`);
    keys.push(`[${bed.hostB.address}]:${port} ${pub.split(" ").slice(0, 2).join(" ")}`);
  }
  await Deno.writeTextFile(knownHostsPath, keys.join("\n") + "\n", { append: true });

  let listener: Deno.ChildProcess | null = null;
  const sshd = {
    port,
    async up() {
      if (listener) return;
      listener = new Deno.Command("nsenter", {
        // nsenter execs sshd: the listener is this child; -D keeps it in the foreground.
        args: [
          `--net=/run/netns/${bed.hostB.netns}`,
          "/usr/sbin/sshd",
          "-D",
          "-f",
          `${dir}/sshd_config`,
          "-E",
          `${dir}/sshd.log`,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      await eventually(`the private sshd listening on ${bed.hostB.address}:${port}`, async () => {
        try {
          (await Deno.connect({ hostname: bed.hostB.address, port })).close();
          return true;
        } catch {
          return false;
        }
      });
    },
    async down() {
      const running = listener;
      listener = null;
      if (running) {
        running.kill("SIGKILL");
        await running.status;
      }
      await killServing(bed.hostB.netns, (local) => local.endsWith(`:${port}`));
    },
    async [Symbol.asyncDispose]() {
      await sshd.down();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  try {
    await sshd.up();
  } catch (error) {
    await sshd[Symbol.asyncDispose]();
    throw error;
  }
  return sshd;
}

/**
 * Kills the sshd processes on host B serving connections from `clientPorts` (this machine's
 * ends, as `sshClientEnds` lists them). Returns the pids killed.
 */
export function killSessions(bed: Testbed, clientPorts: number[]): Promise<number[]> {
  const peers = new Set(clientPorts.map((p) => `${bed.hostB.orchestratorAddress}:${p}`));
  return killServing(bed.hostB.netns, (_local, peer) => peers.has(peer));
}

/**
 * SIGKILLs every process holding an established TCP socket `matching`, in network namespace
 * `netns` (host B's), or in this machine's (host A's) when null. Returns the pids killed.
 */
export async function killServing(
  netns: string | null,
  matching: (local: string, peer: string) => boolean,
): Promise<number[]> {
  const ss = ["ss", "-tnpH", "state", "established"];
  const [command, ...args] = netns === null ? ss : ["nsenter", `--net=/run/netns/${netns}`, ...ss];
  const output = await new Deno.Command(command, { args, stdout: "piped" }).output();
  const pids = new Set<number>();
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    // Recv-Q Send-Q Local Peer Process (state is filtered, so no State column)
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || !matching(fields[2], fields[3])) continue;
    for (const match of line.matchAll(/pid=(\d+)/g)) pids.add(Number(match[1]));
  }
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return [...pids];
}
