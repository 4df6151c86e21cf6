/**
 * Real peers on the two-host test bed for bench/scale_bench.ts: examples/dht-1000.yaml through
 * the CLI (`tm <config>`), the test bed's hosts, Redis and a fresh build of the Go reference peer
 * (FROM scratch, lib/go/scratch-image.sh) swapped in, plus one command: every peer
 * `log-burst|<lines>` after the example's timeline (it logs `burst 1` … `burst <lines>`, then
 * stops and exits). Beside it the bare sequence at the same size (`docker run -d` of the same
 * command lines on both hosts at once, 32 at a time each, a watcher until every peer reported
 * `started`, then `docker rm -f`). Then it checks what the run left: every burst line in the log
 * file and the run record, in order per peer; no container and no `peer-config` dir on either
 * host (both log in as root on this machine: one home).
 */
import { LABELS } from "../../src/runtimes/docker/container_names.ts";
import { testbedHostEntry } from "../../tests/support/e2e.ts";
import { freePort } from "../../tests/support/redis_server.ts";
import { type Testbed, testbed, type TestbedHost } from "../../tests/support/testbed.ts";
import { uniqueId } from "../../tests/support/scratch_images.ts";
import {
  bareRound as bareSequence,
  containersOf,
  HOME,
  type RawConfig,
  removeLabelled,
  tmRound as tmCli,
} from "./testbed_rounds.ts";
import { parse } from "yaml";
import { TestFileSchema } from "../../src/plan/schema.ts";
import { planConfig } from "../../src/plan/plan_config.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

export interface TestbedScale {
  peers: number;
  lines: number;
  verdict: string;
  tmMs: number;
  bareMs: number;
  /** Peak resident memory of the tm process (VmHWM), bytes. */
  peakBytes: number;
  /** From the `starting` phase to the `bootstrap` phase, ms (the log file's PHASE lines). */
  allStartedMs: number;
  /** Peers whose every burst line is in the log file, in order. */
  completeInLog: number;
  /** Peers whose every burst line is in `peers/<peer>.log` of the run record, in order. */
  completeInRecord: number;
  /**
   * Peers whose `peers/<peer>.container.log` in the run record is not empty and has the
   * engine's timestamp on every line (the output streamed at teardown, issue 17).
   */
  timedContainerLogs: number;
  containersLeft: number;
  configDirsLeft: number;
  /** Why the bare sequence failed (then `bareMs` is NaN). */
  bareFailure?: string;
}

/**
 * Why the test bed cannot hold `peers` of `image` (host B's bridge, this machine's threads), or
 * undefined. Starts a few probe containers of `image` on each host (labelled `name`) to measure.
 */
export async function testbedRoom(
  peers: number,
  image: string,
  name: string,
): Promise<string | undefined> {
  const bed = await testbed();
  const out = await new Deno.Command("docker", {
    args: [
      "-H",
      bed.hostB.dockerHost,
      "network",
      "inspect",
      "bridge",
      "--format",
      "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
    ],
  }).output();
  const prefix = Number(new TextDecoder().decode(out.stdout).trim().split("/")[1]);
  const room = 2 ** (32 - prefix) - 3;
  const onB = Math.floor(peers / 2);
  if (onB > room) {
    return `host B's bridge is a /${prefix} (${room} containers), ${onB} peers go there: ` +
      "run scripts/testbed/teardown.sh and setup.sh to widen it (scripts/testbed/config.sh)";
  }
  const perHost = await Promise.all(
    [bed.hostA, bed.hostB].map((host) => threadsPerContainer(host, image, `${name}-threads`)),
  );
  console.error(
    `scale: one peer container costs ${perHost.map((n) => n.toFixed(1)).join(" / ")} threads ` +
      "(host A / host B, measured)",
  );
  return threadRoom(Math.ceil(peers / 2) * perHost[0] + Math.floor(peers / 2) * perHost[1]);
}

/** Probe containers per host for `threadsPerContainer` (their mean is the figure). */
const PROBES = 2;

/**
 * Threads (each takes a pid) one peer container of `image` costs on `host`'s engine, measured:
 * PROBES containers like tm's (one published UDP port; the peer retrying an unreachable Redis,
 * so it runs without one), and for each the threads of its containerd shim and everything under
 * it, plus those of any docker-proxy serving its address. The figure depends on the engine: 26
 * threads with `--userland-proxy=true` (two docker-proxy processes, 14 threads), 16 without.
 * Both hosts share this machine's kernel and /proc.
 */
async function threadsPerContainer(
  host: TestbedHost,
  image: string,
  label: string,
): Promise<number> {
  const docker = async (...args: string[]) => {
    const out = await new Deno.Command("docker", { args: ["-H", host.dockerHost, ...args] })
      .output();
    if (!out.success) {
      throw new Error(
        `docker ${args[0]} on ${host.name}: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
    return new TextDecoder().decode(out.stdout).trim();
  };
  try {
    const ids: string[] = [];
    for (let i = 0; i < PROBES; i++) {
      const port = freePort();
      ids.push(
        await docker(
          "run",
          "-d",
          "--label",
          `${LABELS.test}=${label}`,
          "-p",
          `${port}:${port}/udp`,
          "-e",
          "REDIS_URL=redis://127.0.0.1:1",
          "-e",
          "PEER_NAME=probe",
          "-e",
          "MULE_CONNECT_TIMEOUT=120",
          image,
        ),
      );
    }
    const inspected = (await docker(
      "inspect",
      "--format",
      "{{.State.Pid}} {{.NetworkSettings.IPAddress}}",
      ...ids,
    )).split("\n").map((line) => line.split(" "));
    // Until the entrypoint started the peer under it, then a moment for the Go runtime's threads.
    const tree = () => processTree();
    for (let tries = 0; tries < 100; tries++) {
      const { children } = tree();
      if (inspected.every(([pid]) => (children.get(Number(pid)) ?? []).length > 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { children, parent, threads, proxyIps } = tree();
    let total = 0;
    for (const [pid, ip] of inspected) {
      const shim = parent.get(Number(pid));
      if (shim === undefined) throw new Error(`probe container ${pid} on ${host.name} is gone`);
      const stack = [shim];
      while (stack.length > 0) {
        const at = stack.pop()!;
        total += threads.get(at) ?? 0;
        stack.push(...(children.get(at) ?? []));
      }
      for (const [proxy, proxyIp] of proxyIps) if (proxyIp === ip) total += threads.get(proxy) ?? 0;
    }
    return total / inspected.length;
  } finally {
    await removeLabelled(host, `${LABELS.test}=${label}`);
  }
}

/** Every process's parent, children and thread count; docker-proxy processes' container IPs. */
function processTree() {
  const parent = new Map<number, number>();
  const children = new Map<number, number[]>();
  const threads = new Map<number, number>();
  const proxyIps = new Map<number, string>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // After the command name in parentheses (which may hold spaces): state, ppid, … field 20
      // (num_threads) is the 18th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      parent.set(pid, ppid);
      threads.set(pid, Number(fields[17]));
      let list = children.get(ppid);
      if (!list) children.set(ppid, list = []);
      list.push(pid);
      if (stat.includes("(docker-proxy)")) {
        const args = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
        const at = args.indexOf("-container-ip");
        if (at >= 0) proxyIps.set(pid, args[at + 1]);
      }
    } catch {
      // gone meanwhile
    }
  }
  return { parent, children, threads, proxyIps };
}

/**
 * Why this machine cannot take `needed` more threads (both test bed hosts share its kernel), or
 * undefined. Past `kernel.pid_max` threads every fork fails with EAGAIN: at 1,000 peers with
 * docker-proxy (~34,000 threads) on a machine with the default 32,768 the engines failed
 * mid-launch (`fork/exec /usr/sbin/iptables: resource temporarily unavailable`,
 * `pthread_create failed`). A tenth of the limit is kept for what forks meanwhile (runc,
 * iptables, ssh sessions, the other users of the machine).
 */
function threadRoom(needed: number): string | undefined {
  const pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim());
  const threadsMax = Number(Deno.readTextFileSync("/proc/sys/kernel/threads-max").trim());
  // /proc/loadavg's fourth field: running/total scheduling entities (threads).
  const now = Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[3].split("/")[1]);
  const limit = Math.min(pidMax, threadsMax);
  return now + needed > limit * 0.9
    ? `this machine allows ${limit} threads (kernel.pid_max ${pidMax}, threads-max ${threadsMax}), ` +
      `${now} exist and the peer containers take about ${Math.round(needed)} (measured), past ` +
      "90% of it: start both engines with --userland-proxy=false (docker-proxy is most of a " +
      "container's threads), raise kernel.pid_max (sysctl -w kernel.pid_max=4194304), or run " +
      "fewer peers"
    : undefined;
}

/**
 * examples/dht-1000.yaml on the test bed, or why the machine cannot hold it (a string, before
 * anything ran). `peers` other than 1,000 resize the `node` group (at least 110: the example's
 * timeline names `node-[1-100]`).
 */
export async function testbedScale(
  peers: number,
  lines: number,
  options: { keepLog?: string } = {},
): Promise<TestbedScale | string> {
  if (peers < 110) return `--real ${peers}: the example's timeline needs at least 110 peers`;
  const bed = await testbed();
  const image = `${uniqueId("tm-scale-go")}:bench`;
  const build = await new Deno.Command("bash", {
    args: [`${ROOT}lib/go/scratch-image.sh`, image],
    stdout: "null",
  }).output();
  if (!build.success) throw new Error(`lib/go/scratch-image.sh failed (exit ${build.code})`);
  try {
    // The bare sequence needs the image on host B too (tm ships it itself).
    const load = await new Deno.Command("sh", {
      args: [
        "-c",
        'docker save "$1" | docker -H "$2" load >/dev/null',
        "sh",
        image,
        bed.hostB.dockerHost,
      ],
    }).output();
    if (!load.success) throw new Error(`could not load ${image} into host B's engine`);
    const name = uniqueId("tm-scale");
    const noRoom = await testbedRoom(peers, image, name);
    if (noRoom) return noRoom;
    // tm first: its verdict is the point, and a bare sequence that fails (1,000 `docker run` on
    // a machine loaded by others did not all start in 10 minutes) must not cost it.
    const tm = await tmRound(bed, `${name}-t`, peers, lines, image, options.keepLog);
    console.error(`scale: tm ${JSON.stringify(tm)}`);
    let bareMs = NaN;
    let bareFailure: string | undefined;
    try {
      bareMs = await bareRound(bed, `${name}-b`, peers, image);
      console.error(`scale: bare ${peers} peers in ${(bareMs / 1000).toFixed(1)} s`);
    } catch (error) {
      bareFailure = error instanceof Error ? error.message : String(error);
      console.error(`scale: the bare sequence failed: ${bareFailure}`);
    }
    return { ...tm, bareMs, ...(bareFailure ? { bareFailure } : {}) };
  } finally {
    for (const host of [bed.hostA, bed.hostB]) {
      await new Deno.Command("docker", {
        args: ["-H", host.dockerHost, "rmi", "-f", image],
        stdout: "null",
        stderr: "null",
      })
        .output();
    }
  }
}

const EXAMPLE = `${ROOT}examples/dht-1000.yaml`;
/** When the bench's one addition to the example's timeline is due: after its last command. */
const BURST_AT = 20;

/**
 * examples/dht-1000.yaml as it is, with what names this machine swapped in: the test's name,
 * Redis's port and image, the test bed's two hosts for the example's two, `image` for the Go
 * peer's, `peers` in all (the `node` group resized). With `lines`, one command more, at BURST_AT
 * s: every peer `log-burst|<lines>` (it logs `burst 1` … `burst <lines>`, then stops and exits).
 */
function exampleOnTestbed(
  bed: Testbed,
  name: string,
  peers: number,
  lines: number,
  image: string,
): RawConfig {
  const raw = parse(Deno.readTextFileSync(EXAMPLE)) as RawConfig & {
    images: string[];
    hosts: unknown[];
    peers: { name: string; count: number; image: string }[];
    commands: { time: number; peer: string; command: string }[];
  };
  const seeds = raw.peers.find((group) => group.name === "seed")!.count;
  if (raw.hosts.length !== 2) throw new Error(`${EXAMPLE} no longer has two hosts`);
  if (raw.commands.some((c) => c.time >= BURST_AT)) {
    throw new Error(`${EXAMPLE} has commands from ${BURST_AT} s on: move BURST_AT after them`);
  }
  return {
    ...raw,
    name,
    redis: { port: freePort(), image: bed.redisImage },
    images: [image],
    hosts: [
      testbedHostEntry(bed.hostA, { basePort: freeBasePort(bed.hostA, peers) }),
      testbedHostEntry(bed.hostB, { basePort: freeBasePort(bed.hostB, peers) }),
    ],
    peers: raw.peers.map((group) => ({
      ...group,
      image,
      ...(group.name === "node" ? { count: peers - seeds } : {}),
    })),
    commands: lines > 0
      ? [...raw.commands, { time: BURST_AT, peer: "*", command: `log-burst|${lines}` }]
      : raw.commands,
  };
}

/**
 * A base port for `count` peers on `host` whose range holds no port published on its engine now:
 * a random one (as the tests pick) clashed with another bench's 500 peers on host B (`Bind for
 * 0.0.0.0:59694 failed: port is already allocated`).
 */
function freeBasePort(host: TestbedHost, count: number): number {
  const out = new Deno.Command("docker", {
    args: ["-H", host.dockerHost, "ps", "--format", "{{.Ports}}"],
  }).outputSync();
  const used = [...new TextDecoder().decode(out.stdout).matchAll(/:(\d+)(?:-(\d+))?->/g)]
    .map((m) => [Number(m[1]), Number(m[2] ?? m[1])]);
  for (let tries = 0; tries < 100; tries++) {
    const base = 20_000 + Math.floor(Math.random() * (40_000 - count));
    if (used.every(([from, to]) => to < base || from >= base + count)) return base;
  }
  throw new Error(`no free range of ${count} ports on ${host.name}`);
}

/** The peers' names, as tm expands the groups. */
const peerNames = (raw: RawConfig) =>
  planConfig(TestFileSchema.parse(raw)).peers.map((peer) => peer.name);

/**
 * The bare sequence on both hosts at once (bench/support/testbed_rounds.ts), the peers held as
 * long as tm's timeline lasts (BURST_AT s); its duration, ms.
 */
function bareRound(bed: Testbed, name: string, peers: number, image: string): Promise<number> {
  return bareSequence(bed, exampleOnTestbed(bed, name, peers, 0, image), [
    bed.hostA,
    bed.hostB,
  ], { startedWithinMs: 600_000, holdMs: BURST_AT * 1_000 });
}

/** One `tm <config>` through the CLI, and what it left. */
async function tmRound(
  bed: Testbed,
  name: string,
  peers: number,
  lines: number,
  image: string,
  keepLog: string | undefined,
): Promise<Omit<TestbedScale, "bareMs">> {
  const raw = exampleOnTestbed(bed, name, peers, lines, image);
  const names = peerNames(raw);
  const expected = Array.from({ length: lines }, (_, i) => `burst ${i + 1}`);
  try {
    const run = await tmCli(
      bed,
      raw,
      ["--out", "runs"],
      async (dir) => {
        const [recordName] = [...Deno.readDirSync(`${dir}/runs`)].map((e) => e.name);
        let complete = 0;
        let timed = 0;
        for (const peer of names) {
          // Every line of the container's output comes with the engine's time of it.
          const output = await Deno.readTextFile(
            `${dir}/runs/${recordName}/peers/${peer}.container.log`,
          ).catch(() => "");
          const outputLines = output.split("\n").filter((l) => l !== "");
          if (
            outputLines.length > 0 &&
            outputLines.every((l) => Number.isFinite(Date.parse(l.slice(0, l.indexOf(" ")))))
          ) timed++;
          const text = await Deno.readTextFile(`${dir}/runs/${recordName}/peers/${peer}.log`)
            .catch(() => "");
          const burst = text.split("\n").filter((l) => /\bburst \d+$/.test(l)).map((l) =>
            /burst \d+$/.exec(l)![0]
          );
          if (JSON.stringify(burst) === JSON.stringify(expected)) complete++;
        }
        return { complete, timed };
      },
    );
    const log = run.log;
    if (keepLog) await Deno.writeTextFile(keepLog, log);
    const inLog = burstLinesByPeer(log);
    const verdict = /RESULT\s+(\w+)/.exec(log)?.[1] ?? `exit ${run.code}`;
    if (names.some((p) => JSON.stringify(inLog.get(p) ?? []) !== JSON.stringify(expected))) {
      const sample = log.split("\n").filter((l) =>
        l.includes(`${names[0]} `) && l.includes("burst")
      )
        .slice(0, 8);
      console.error(`scale: ${names[0]}'s lines in the log file:\n${sample.join("\n")}`);
    }
    if (!run.success) {
      console.error(run.stdout.slice(-3000));
      console.error(run.stderr.slice(-3000));
    }
    const label = `${LABELS.test}=${name}`;
    return {
      peers,
      lines,
      verdict,
      tmMs: run.ms,
      peakBytes: run.peakBytes,
      allStartedMs: phaseGap(log, "starting", "bootstrap"),
      completeInLog: names.filter((p) =>
        JSON.stringify(inLog.get(p) ?? []) === JSON.stringify(expected)
      ).length,
      completeInRecord: run.inspected?.complete ?? 0,
      timedContainerLogs: run.inspected?.timed ?? 0,
      containersLeft: (await Promise.all([bed.hostA, bed.hostB].map((h) => containersOf(h, label))))
        .reduce((a, b) => a + b, 0),
      configDirsLeft: [...Deno.readDirSync(`${HOME}/peer-config`)].filter((e) =>
        e.name.startsWith(`tm-${name}`)
      ).length,
    };
  } finally {
    for (const host of [bed.hostA, bed.hostB]) await removeLabelled(host, `${LABELS.test}=${name}`);
  }
}

/** Each peer's `burst <n>` lines in the log file, in file order. */
function burstLinesByPeer(log: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of log.split("\n")) {
    // The peer's own lines (level `info`), not the OUTPUT lines of its collected container output.
    const match = /\] (\S+)\s+info\s+(burst \d+)$/.exec(line);
    if (!match) continue;
    let list = found.get(match[1]);
    if (!list) found.set(match[1], list = []);
    list.push(match[2]);
  }
  return found;
}

/** ms between two phases' `tm PHASE` lines in a run's log file. */
function phaseGap(log: string, from: string, to: string): number {
  const at = (phase: string) => {
    const match = new RegExp(`\\[\\s*([\\d.]+)s\\] tm\\s+PHASE\\s+${phase}\\b`).exec(log);
    return match ? Number(match[1]) * 1000 : NaN;
  };
  return at(to) - at(from);
}
