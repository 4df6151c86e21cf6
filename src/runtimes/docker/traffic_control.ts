/**
 * The `tc` tree on a peer container's interface that carries its network faults (docs/config.md,
 * "Faults"). Pure: builds the lines `tc -batch -` runs inside the container's network namespace.
 *
 * One HTB root holds three classes:
 * - 1:10, unshaped: the peer's TCP traffic to Redis, so tm keeps driving a shaped peer;
 * - 1:20, the default: everything else, limited to `rateKbit` when set, with a `netem` leaf for
 *   delay and jitter;
 * - 1:30, a black hole (a `pfifo` of length 0): the destinations a partition cuts off, and the
 *   share of the default traffic `loss` drops, chosen at random by a classic-BPF filter.
 *
 * A black hole on egress rather than an iptables DROP: a DROP in OUTPUT makes the sender's
 * `sendto` fail with EPERM, which no real partition does, while a full queue's drop is silent to
 * a UDP sender (the kernel hides ENOBUFS unless IP_RECVERR is set). It also needs no `netem`,
 * so partitions and loss work on kernels built without it (this test bed's): only delay does.
 */
import type { NetworkShaping } from "../../engine/runtime.ts";

/** The interface of a container on Docker's default bridge (tm starts peers there). */
export const PEER_DEVICE = "eth0";

/** What a peer's traffic must not reach: UDP to `port` at `address`, or anything at `address`. */
export interface BlockedDestination {
  /** An IPv4 address. */
  address: string;
  /** A UDP port; absent: every protocol and port. */
  port?: number;
}

/** Everything the tree of one peer carries. */
export interface EgressFaults {
  shaping: NetworkShaping;
  blocked: readonly BlockedDestination[];
  /** The TCP port of the peer's Redis, kept out of every fault. */
  redisPort: number;
}

/** HTB's ceiling for the classes that are not rate-limited: no real link is faster. */
const UNLIMITED = "10gbit";
/**
 * Bytes a class sends per round. Explicit, so HTB does not derive it from the rate and warn
 * that 10 gbit/s makes it "big": the classes never compete for a shared parent rate.
 */
const QUANTUM = "1514";

/** Whether `faults` shape or block anything (else the peer needs no tree at all). */
export function hasEgressFaults(faults: EgressFaults): boolean {
  const { delayMs, jitterMs, lossPercent, rateKbit } = faults.shaping;
  return faults.blocked.length > 0 || !!delayMs || !!jitterMs || !!lossPercent ||
    rateKbit !== undefined;
}

/** Whether the shaping needs the kernel's `netem` qdisc: delay and jitter. */
export function needsNetem(shaping: NetworkShaping): boolean {
  return !!shaping.delayMs || !!shaping.jitterMs;
}

/**
 * Classic BPF's ancillary load of a random number (`SKF_AD_OFF + SKF_AD_RANDOM`, -0x1000 + 56 as
 * an unsigned 32-bit offset): the kernel's prandom, a fresh value per packet.
 */
const LOAD_RANDOM = 0x1_0000_0000 - 0x1000 + 56;

/**
 * The program of a `bpf` filter (cls_bpf, classic BPF in tc's `bytecode` form) that matches a
 * random `percent` of the packets: a random 32-bit number below `percent`% of 2^32 returns -1
 * (match: the filter's class), any other 0 (no match). Loss without `netem`, which kernels may
 * lack (this test bed's does): there, 30% dropped 595 of 2,000 datagrams, silently.
 */
export function randomMatchBytecode(percent: number): string {
  const below = Math.min(Math.round(2 ** 32 * percent / 100), 2 ** 32 - 1);
  return [
    "4",
    `32 0 0 ${LOAD_RANDOM}`, // ld  [rand]
    `53 0 1 ${below}`, // jge #below, keep, drop
    "6 0 0 0", // keep: ret #0 (no match)
    "6 0 0 4294967295", // drop: ret #-1 (match: the filter's classid)
  ].join(",");
}

/**
 * The `tc -batch` lines that build the tree on `device`, which must have no root qdisc of tm's
 * yet (the caller deletes it first). Empty when `faults` has nothing to apply.
 */
export function egressBatch(faults: EgressFaults, device = PEER_DEVICE): string[] {
  if (!hasEgressFaults(faults)) return [];
  const { shaping, blocked, redisPort } = faults;
  const dev = `dev ${device}`;
  const rate = shaping.rateKbit !== undefined ? `${shaping.rateKbit}kbit` : UNLIMITED;
  const lines = [
    `qdisc add ${dev} root handle 1: htb default 20`,
    `class add ${dev} parent 1: classid 1:10 htb rate ${UNLIMITED} quantum ${QUANTUM}`,
    `class add ${dev} parent 1: classid 1:20 htb rate ${rate} quantum ${QUANTUM}`,
    `class add ${dev} parent 1: classid 1:30 htb rate 8bit quantum ${QUANTUM}`,
    `qdisc add ${dev} parent 1:30 handle 30: pfifo limit 0`,
  ];
  if (needsNetem(shaping)) lines.push(`qdisc add ${dev} parent 1:20 handle 20: ${netem(shaping)}`);
  const filter = (prio: number, match: string, flow: string) =>
    `filter add ${dev} parent 1: protocol ip prio ${prio} u32 ${match} flowid ${flow}`;
  lines.push(filter(1, `match ip protocol 6 0xff match ip dport ${redisPort} 0xffff`, "1:10"));
  for (const { address, port } of blocked) {
    const udp = port === undefined
      ? ""
      : ` match ip protocol 17 0xff match ip dport ${port} 0xffff`;
    lines.push(filter(2, `match ip dst ${address}/32${udp}`, "1:30"));
  }
  const loss = shaping.lossPercent ?? 0;
  if (loss >= 100) lines.push(filter(3, "match u32 0 0", "1:30"));
  else if (loss > 0) {
    lines.push(
      `filter add ${dev} parent 1: protocol ip prio 3 bpf bytecode "${
        randomMatchBytecode(loss)
      }" flowid 1:30`,
    );
  }
  return lines;
}

/** The `netem` qdisc of the shaping: delay with its jitter. */
function netem(shaping: NetworkShaping): string {
  const parts = ["netem", `delay ${shaping.delayMs ?? 0}ms`];
  if (shaping.jitterMs) parts.push(`${shaping.jitterMs}ms`);
  return parts.join(" ");
}
