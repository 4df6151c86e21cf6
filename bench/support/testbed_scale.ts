/**
 * Real peers on the two-host test bed for bench/scale_bench.ts: `tm <config>` through the CLI
 * with N Go reference peers (FROM scratch, lib/go/scratch-image.sh), half on each host, each
 * bootstrapped with 3 others and sent `log-burst|<lines>` at 1 s (it logs `burst 1` … `burst
 * <lines>`, then stops and exits); beside the bare sequence at the same size (`docker run -d` of
 * the same command lines on both hosts at once, 32 at a time each, a watcher until every peer
 * reported `started`, then `docker rm -f`). Then it checks what the run left: every burst line in
 * the log file and the run record, in order per peer; no container and no `peer-config` dir on
 * either host (both log in as root on this machine: one home).
 */
import { LABELS } from "../../src/runtimes/docker/container_names.ts";
import { testbedHostEntry } from "../../tests/support/e2e.ts";
import { freePort } from "../../tests/support/redis_server.ts";
import { type Testbed, testbed } from "../../tests/support/testbed.ts";
import { uniqueId } from "../../tests/support/scratch_images.ts";
import {
  bareRound as bareSequence,
  containersOf,
  HOME,
  removeLabelled,
  tmRound as tmCli,
} from "./testbed_rounds.ts";

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
}

/** Why the test bed cannot hold `peers` (host B's bridge), or undefined. */
export async function testbedRoom(peers: number): Promise<string | undefined> {
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
  return threadRoom(peers);
}

/**
 * Threads (each takes a pid) one peer container costs on this machine: its containerd shim, the
 * docker-proxy of its published port, the entrypoint and the Go peer. Measured on the test bed:
 * 386 containers up took 13,000 threads more than none (~34 each).
 */
const THREADS_PER_CONTAINER = 34;

/**
 * Why this machine cannot hold `peers` containers at once (both test bed hosts share its
 * kernel), or undefined. Past `kernel.pid_max` threads every fork fails with EAGAIN: at 1,000
 * peers (~34,000 threads) on a machine with the default 32,768 the engines failed mid-launch
 * (`fork/exec /usr/sbin/iptables: resource temporarily unavailable`, `pthread_create failed`).
 */
function threadRoom(peers: number): string | undefined {
  const pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim());
  const threadsMax = Number(Deno.readTextFileSync("/proc/sys/kernel/threads-max").trim());
  // /proc/loadavg's fourth field: running/total scheduling entities (threads).
  const now = Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[3].split("/")[1]);
  const limit = Math.min(pidMax, threadsMax);
  const needed = peers * THREADS_PER_CONTAINER;
  return now + needed > limit
    ? `this machine allows ${limit} threads (kernel.pid_max ${pidMax}, threads-max ${threadsMax}), ` +
      `${now} exist and ${peers} peer containers take about ${needed}: raise kernel.pid_max ` +
      "(sysctl -w kernel.pid_max=4194304) or run fewer peers"
    : undefined;
}

export async function testbedScale(peers: number, lines: number): Promise<TestbedScale> {
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
    const bareMs = await bareRound(bed, `${name}-b`, peers, image);
    console.error(`scale: bare ${peers} peers in ${(bareMs / 1000).toFixed(1)} s`);
    return { ...await tmRound(bed, `${name}-t`, peers, lines, image), bareMs };
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

const peerName = (i: number) => `p${String(i).padStart(4, "0")}`;

function rawConfig(bed: Testbed, name: string, peers: number, lines: number, image: string) {
  const names = Array.from({ length: peers }, (_, i) => peerName(i));
  return {
    name,
    timeout: { startup: 600, shutdown: 300 },
    redis: { port: freePort(), image: bed.redisImage },
    hosts: [testbedHostEntry(bed.hostA), testbedHostEntry(bed.hostB)],
    peers: names.map((peer, i) => ({
      name: peer,
      image,
      runs_on: i % 2 === 0 ? "a" : "b",
      bootstrap: [1, 2, 3].map((d) => names[(i + d) % peers]),
    })),
    commands: lines > 0
      ? names.map((peer) => ({ time: 1, peer, command: `log-burst|${lines}` }))
      : [],
  };
}

function withTags(config: ReturnType<typeof rawConfig>) {
  config.hosts[0].tags = ["a"];
  config.hosts[1].tags = ["b"];
  return config;
}

/** The bare sequence on both hosts at once (bench/support/testbed_rounds.ts); its duration, ms. */
function bareRound(bed: Testbed, name: string, peers: number, image: string): Promise<number> {
  return bareSequence(bed, withTags(rawConfig(bed, name, peers, 0, image)), [
    bed.hostA,
    bed.hostB,
  ], { startedWithinMs: 600_000 });
}

/** One `tm <config>` through the CLI, and what it left. */
async function tmRound(
  bed: Testbed,
  name: string,
  peers: number,
  lines: number,
  image: string,
): Promise<Omit<TestbedScale, "bareMs">> {
  const names = Array.from({ length: peers }, (_, i) => peerName(i));
  const expected = Array.from({ length: lines }, (_, i) => `burst ${i + 1}`);
  try {
    const run = await tmCli(
      bed,
      withTags(rawConfig(bed, name, peers, lines, image)),
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
