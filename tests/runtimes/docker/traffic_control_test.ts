import { assertEquals } from "../../support/assert.ts";
import {
  egressBatch,
  hasEgressFaults,
  needsNetem,
  randomMatchBytecode,
} from "../../../src/runtimes/docker/traffic_control.ts";

const HTB = [
  "qdisc add dev eth0 root handle 1: htb default 20",
  "class add dev eth0 parent 1: classid 1:10 htb rate 10gbit quantum 1514",
];
const BLACK_HOLE = [
  "class add dev eth0 parent 1: classid 1:30 htb rate 8bit quantum 1514",
  "qdisc add dev eth0 parent 1:30 handle 30: pfifo limit 0",
];
const REDIS = "filter add dev eth0 parent 1: protocol ip prio 1 u32 " +
  "match ip protocol 6 0xff match ip dport 6390 0xffff flowid 1:10";

Deno.test("egressBatch is empty when nothing is shaped or blocked", () => {
  assertEquals(egressBatch({ shaping: {}, blocked: [], redisPort: 6390 }), []);
  assertEquals(hasEgressFaults({ shaping: { delayMs: 0 }, blocked: [], redisPort: 6390 }), false);
});

Deno.test("egressBatch puts delay and jitter in a netem leaf of the default class and partial loss in a random BPF match to the black hole, Redis kept out", () => {
  assertEquals(
    egressBatch({
      shaping: { delayMs: 200, jitterMs: 20, lossPercent: 5 },
      blocked: [],
      redisPort: 6390,
    }),
    [
      ...HTB,
      "class add dev eth0 parent 1: classid 1:20 htb rate 10gbit quantum 1514",
      ...BLACK_HOLE,
      "qdisc add dev eth0 parent 1:20 handle 20: netem delay 200ms 20ms",
      REDIS,
      `filter add dev eth0 parent 1: protocol ip prio 3 bpf bytecode "${
        randomMatchBytecode(5)
      }" flowid 1:30`,
    ],
  );
});

Deno.test("egressBatch limits the default class to rateKbit without netem", () => {
  const batch = egressBatch({ shaping: { rateKbit: 512 }, blocked: [], redisPort: 6390 });
  assertEquals(batch[2], "class add dev eth0 parent 1: classid 1:20 htb rate 512kbit quantum 1514");
  assertEquals(batch.some((line) => line.includes("netem")), false);
});

Deno.test("egressBatch sends blocked destinations, and everything under 100% loss, to the black hole", () => {
  const batch = egressBatch({
    shaping: { lossPercent: 100 },
    blocked: [{ address: "10.0.0.2", port: 11000 }, { address: "172.17.0.3" }],
    redisPort: 6390,
  }, "eth1");
  assertEquals(batch.slice(-3), [
    "filter add dev eth1 parent 1: protocol ip prio 2 u32 match ip dst 10.0.0.2/32 " +
    "match ip protocol 17 0xff match ip dport 11000 0xffff flowid 1:30",
    "filter add dev eth1 parent 1: protocol ip prio 2 u32 match ip dst 172.17.0.3/32 flowid 1:30",
    "filter add dev eth1 parent 1: protocol ip prio 3 u32 match u32 0 0 flowid 1:30",
  ]);
  assertEquals(batch.some((line) => line.includes("netem")), false);
});

Deno.test("needsNetem is true for delay and jitter only", () => {
  assertEquals(needsNetem({ delayMs: 1 }), true);
  assertEquals(needsNetem({ jitterMs: 1 }), true);
  assertEquals(needsNetem({ lossPercent: 5 }), false);
  assertEquals(needsNetem({ lossPercent: 100 }), false);
  assertEquals(needsNetem({ rateKbit: 64 }), false);
});

Deno.test("randomMatchBytecode matches below percent% of 2^32 with classic BPF's random load", () => {
  assertEquals(
    randomMatchBytecode(30),
    "4,32 0 0 4294963256,53 0 1 1288490189,6 0 0 0,6 0 0 4294967295",
  );
  // 99.99...%: the threshold stays a 32-bit number.
  assertEquals(randomMatchBytecode(99.9999999999).split(",")[2], "53 0 1 4294967295");
});
