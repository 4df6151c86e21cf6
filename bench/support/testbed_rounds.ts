/**
 * The two sides of a whole-run comparison on the test bed, for bench/run_overhead_bench.ts and
 * bench/support/testbed_scale.ts (one owner):
 *
 * - `bareRound`: the Docker work typed by hand. Per host one OpenSSH login that starts its
 *   containers with `docker run -d` (tm's own command lines, `runArgs`), BARE_PARALLEL at a time,
 *   the hosts at once; a Redis watcher until every peer reported `started`; per host one OpenSSH
 *   login running `docker rm -f` of them all. The Redis the peers report to is started before
 *   the clock starts.
 * - `tmRound`: `tm <config>` through the CLI (`deno run -A main.ts`, with the V8 flags tm is
 *   run and compiled with), from spawning it to its exit, cleanup included, with its peak memory
 *   and its log file.
 */
import { stringify } from "yaml";
import { RedisCoordination } from "../../src/coordination/redis_coordination.ts";
import { TestFileSchema } from "../../src/plan/schema.ts";
import { planConfig } from "../../src/plan/plan_config.ts";
import { peerEnvironment } from "../../src/plan/environment.ts";
import { runArgs } from "../../src/runtimes/docker/docker.ts";
import { containerName, LABELS, peerLabels } from "../../src/runtimes/docker/container_names.ts";
import { configDir } from "../../src/runtimes/docker/docker_runtime.ts";
import { DockerRedis } from "../../src/runtimes/docker/docker_redis.ts";
import { HOST_GATEWAY_MAPPING, peerRedisUrl } from "../../src/runtimes/docker/redis_address.ts";
import { commandLine } from "../../src/transport/shell.ts";
import { place } from "../../src/plan/placement.ts";
import { currentOwner } from "../../src/coordination/run_owner.ts";
import type { Testbed, TestbedHost } from "../../tests/support/testbed.ts";
import { uniqueId } from "../../tests/support/scratch_images.ts";
import { TM_V8_FLAGS } from "../../tests/support/tm_command.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
/** Where both test bed hosts keep the peer config dirs (both log in as root here: one home). */
export const HOME = Deno.env.get("HOME") ?? "/root";
/** Bare `docker run -d` in flight at once on each host (a human's `xargs -P`). */
export const BARE_PARALLEL = 32;

/** A test file's content, as the benches write it (YAML). */
export type RawConfig = Record<string, unknown> & { name: string };

/** Runs a shell script on a host through one OpenSSH login (the script on stdin). */
export async function sshScript(bed: Testbed, host: TestbedHost, script: string): Promise<void> {
  const child = new Deno.Command("ssh", {
    args: [
      "-i",
      host.key,
      "-o",
      `UserKnownHostsFile=${bed.knownHostsPath}`,
      "-o",
      "BatchMode=yes",
      "-p",
      String(host.port),
      `${host.user}@${host.address}`,
      "sh",
      "-s",
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`ssh ${host.name}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A script running each line in the background, BARE_PARALLEL at a time; fails if any failed. */
function parallelScript(lines: string[]): string {
  const waves: string[] = [];
  for (let i = 0; i < lines.length; i += BARE_PARALLEL) {
    const wave = lines.slice(i, i + BARE_PARALLEL);
    waves.push(
      wave.map((line, j) => `${line} & p${j}=$!`).join("\n") + "\n" +
        wave.map((_, j) => `wait $p${j} || rc=1`).join("\n"),
    );
  }
  return `rc=0\n${waves.join("\n")}\nexit $rc\n`;
}

/**
 * The bare sequence for `raw`'s peers on `hosts` (in the config's host order); its duration, ms.
 * Its Redis (a container on `raw`'s `redis.port`) starts before the clock and goes after it.
 * `holdMs` (default 0): how long the peers run once all started before they are removed, as a
 * script would sleep through a test's timeline.
 */
export async function bareRound(
  bed: Testbed,
  raw: RawConfig,
  hosts: TestbedHost[],
  options: { startedWithinMs: number; holdMs?: number },
): Promise<number> {
  const runId = uniqueId("bare");
  const name = raw.name;
  // Groups (`count`) and selectors expanded as tm does.
  const config = planConfig(TestFileSchema.parse(raw));
  const plan = place(config);
  const redis = await new DockerRedis({ redis: config.redis, runId, test: name }).start(
    AbortSignal.timeout(60_000),
  );
  const coordination = await RedisCoordination.open(redis.url);
  const watching = new AbortController();
  try {
    await coordination.enableKeyspaceNotifications();
    const names = plan.map((p) => p.peer);
    await coordination.clearPeerKeys(names);
    const byHost = hosts.map((host, index) => {
      const { url, needsHostGateway } = peerRedisUrl(redis.url, {
        orchestratorAddress: host.orchestratorAddress,
      });
      return plan.filter((p) => p.hostIndex === index).map((placement) => {
        const container = containerName(name, placement.peer);
        return commandLine([
          "docker",
          ...runArgs({
            image: config.peers.find((p) => p.name === placement.peer)!.image,
            name: container,
            labels: peerLabels(currentOwner(runId, name), placement.peer),
            ports: [{ host: placement.port, container: placement.port, protocol: "udp" }],
            env: peerEnvironment(config, placement, url),
            volumes: [{ source: configDir(HOME, container), target: "/config" }],
            addHosts: needsHostGateway ? [HOST_GATEWAY_MAPPING] : [],
          }),
        ]) + " >/dev/null";
      });
    });
    const started = new Set<string>();
    const allStarted = Promise.withResolvers<void>();
    (async () => {
      for await (const update of coordination.statuses(names, watching.signal)) {
        if (update.status === "started") started.add(update.peer);
        if (started.size === names.length) return allStarted.resolve();
      }
    })().catch((error) => allStarted.reject(error));
    // Handled here, awaited below: a timeout while the launches still run must not end the
    // process as an unhandled rejection before the cleanup below (1,000 peers on a loaded
    // machine left 987 containers behind that way).
    allStarted.promise.catch(() => {});
    const timeout = setTimeout(() => {
      const missing = names.filter((peer) => !started.has(peer));
      allStarted.reject(
        new Error(
          `bare: ${started.size}/${names.length} started within ${options.startedWithinMs} ms ` +
            `(not: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""})`,
        ),
      );
    }, options.startedWithinMs);
    try {
      const t0 = performance.now();
      // Every host's launches settled before a failure is thrown: the cleanup below must not run
      // while another host still starts containers (a failed host B left 20 of host A's behind).
      const launches = await Promise.allSettled(
        hosts.map((host, i) =>
          byHost[i].length === 0 ? undefined : sshScript(bed, host, parallelScript(byHost[i]))
        ),
      );
      const failed = launches.find((l) => l.status === "rejected");
      if (failed) throw failed.reason;
      await allStarted.promise;
      await new Promise((resolve) => setTimeout(resolve, options.holdMs ?? 0));
      await Promise.all(hosts.map((host, index) => {
        const containers = plan.filter((p) => p.hostIndex === index)
          .map((p) => containerName(name, p.peer));
        if (containers.length === 0) return undefined;
        const rm = commandLine(["docker", "rm", "-f", "-v", ...containers]);
        return sshScript(bed, host, `${rm} >/dev/null`);
      }));
      return performance.now() - t0;
    } finally {
      clearTimeout(timeout);
    }
  } finally {
    watching.abort();
    await coordination.close().catch(() => {});
    await redis.stop();
    for (const host of hosts) await removeLabelled(host, `${LABELS.run}=${runId}`);
    await removeConfigDirs(name, plan.map((p) => p.peer));
  }
}

/** One `tm <config>` through the CLI, measured. */
export interface TmCliRound {
  ms: number;
  /** Whether tm exited 0. */
  success: boolean;
  code: number;
  /** Peak resident memory of the tm process (VmHWM), bytes. */
  peakBytes: number;
  /** The run's log file. */
  log: string;
  stdout: string;
  stderr: string;
}

/**
 * `tm <raw> [args…]` through the CLI in a temporary directory (its log file written there),
 * from spawn to exit. `inspect` reads what the run left in that directory before it is removed.
 * `denoFlags` go to `deno run` (`--cpu-prof`, `--cpu-prof-dir=…` to profile tm).
 */
export async function tmRound<T = void>(
  bed: Testbed,
  raw: RawConfig,
  args: string[],
  inspect?: (dir: string) => Promise<T>,
  denoFlags: string[] = [],
): Promise<TmCliRound & { inspected?: T }> {
  const dir = await Deno.makeTempDir({ prefix: `tm-bench-${raw.name}-` });
  try {
    const path = `${dir}/test.yaml`;
    await Deno.writeTextFile(path, stringify(raw, { lineWidth: 0 }));
    const t0 = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...TM_V8_FLAGS, ...denoFlags, "-A", `${ROOT}main.ts`, ...args, path],
      cwd: dir,
      env: { TM_KNOWN_HOSTS: bed.knownHostsPath, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let peakBytes = 0;
    const sampler = setInterval(() => {
      peakBytes = Math.max(peakBytes, peakResidentBytes(child.pid));
    }, 100);
    const out = await child.output();
    clearInterval(sampler);
    const ms = performance.now() - t0;
    const logName = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".log"))?.name;
    const log = logName ? await Deno.readTextFile(`${dir}/${logName}`) : "";
    const inspected = inspect ? await inspect(dir) : undefined;
    return {
      ms,
      success: out.success,
      code: out.code,
      peakBytes,
      log,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
      ...(inspected !== undefined ? { inspected } : {}),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** VmHWM of a live process, bytes; 0 once it is gone. */
function peakResidentBytes(pid: number): number {
  try {
    const kb = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmHWM:\s+(\d+) kB/m);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The containers (any state) on a host carrying `label`. */
export async function containersOf(host: TestbedHost, label: string): Promise<number> {
  const out = await new Deno.Command("docker", {
    args: ["-H", host.dockerHost, "ps", "-aq", "--filter", `label=${label}`],
  }).output();
  if (!out.success) throw new Error(`docker ps on ${host.name} failed`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "").length;
}

/** Removes a host's containers carrying `label` (what a failed round left). */
export async function removeLabelled(host: TestbedHost, label: string): Promise<void> {
  await new Deno.Command("sh", {
    args: [
      "-c",
      'docker -H "$1" ps -aq --filter "label=$2" | xargs -r docker -H "$1" rm -f -v >/dev/null 2>&1 || true',
      "sh",
      host.dockerHost,
      label,
    ],
  }).output();
}

/** Removes the peer config dirs of `peers` of `test` (the hosts share this machine's home). */
export async function removeConfigDirs(test: string, peers: string[]): Promise<void> {
  await Promise.all(
    peers.map((peer) =>
      Deno.remove(configDir(HOME, containerName(test, peer)), { recursive: true }).catch(() => {})
    ),
  );
}

/** ms from each phase's `tm PHASE` line to the next (the last: to `RESULT`) in a run's log. */
export function phaseDurations(log: string): Map<string, number> {
  const marks: { phase: string; t: number }[] = [];
  let end = 0;
  for (const line of log.split("\n")) {
    const match = line.match(/\[\s*([\d.]+)s\] tm\s+(PHASE|RESULT)\s+(\S+)/);
    if (!match) continue;
    // The log writes `PHASE redis: getting Redis ready`: the phase's name is before the colon.
    const phase = match[3].replace(/:$/, "");
    if (match[2] === "PHASE") marks.push({ phase, t: Number(match[1]) * 1000 });
    else end = Number(match[1]) * 1000;
  }
  const durations = new Map<string, number>();
  marks.forEach((mark, i) => {
    const next = marks[i + 1]?.t ?? end;
    durations.set(mark.phase, (durations.get(mark.phase) ?? 0) + next - mark.t);
  });
  return durations;
}
