/**
 * Simulated peers: a `PeerRuntime` whose peers are a few lines of state driven over two Redis
 * connections (ioredis pipelines), so the engine can be run at 10,000 peers on a 2-core machine.
 * Each peer keeps the protocol (docs/protocol.md): on start it SETs `started|sim-<epoch ms>` (the
 * time it set it, for status latency); it reads its commands as tm RPUSHes them (learned from
 * keyspace notifications of `<peer>_command`, then LPOP); `peer|…` counts a bootstrap address;
 * `work` LPUSHes `linesPerPeer - 1` lines (`<peer> <i>`, in one LPUSH); `shutdown` LPUSHes its
 * last line, then SETs `stopped`, then exits 0.
 */
import { Redis } from "ioredis";
import type { PlacedPeer } from "../../src/plan/placement.ts";
import type {
  PeerExit,
  PeerLaunch,
  PeerRuntime,
  RunningPeer,
  TeardownOptions,
} from "../../src/engine/runtime.ts";

/** Most commands in one pipeline. */
const PIPELINE_MAX = 5_000;

interface SimulatedPeer {
  name: string;
  exit: PromiseWithResolvers<PeerExit>;
  bootstraps: number;
  exited: boolean;
}

export class SimulatedPeers implements PeerRuntime {
  readonly kind = "simulated";
  readonly #linesPerPeer: number;
  readonly #peers = new Map<string, SimulatedPeer>();
  #redis: Redis | undefined;
  #subscriber: Redis | undefined;
  #pipeline: ReturnType<Redis["pipeline"]> | undefined;
  #dirty = new Set<string>();
  #reading = false;
  #teardown: Promise<void> | undefined;

  constructor(options: { linesPerPeer: number }) {
    this.#linesPerPeer = options.linesPerPeer;
  }

  /** Bootstrap addresses each peer received, by peer. */
  bootstraps(): Map<string, number> {
    return new Map([...this.#peers].map(([name, peer]) => [name, peer.bootstraps]));
  }

  setup(): Promise<void> {
    return Promise.resolve();
  }

  redisUrlFor(_placement: PlacedPeer, orchestratorUrl: string): string {
    if (!this.#redis) this.#connect(orchestratorUrl);
    return orchestratorUrl;
  }

  #connect(url: string): void {
    this.#redis = new Redis(url);
    this.#subscriber = new Redis(url);
    const db = this.#redis.options.db ?? 0;
    void this.#subscriber.psubscribe(`__keyspace@${db}__:*_command`);
    this.#subscriber.on("pmessage", (_pattern: string, channel: string, event: string) => {
      if (event !== "rpush") return;
      const key = channel.slice(channel.indexOf(":") + 1);
      this.#dirty.add(key.slice(0, -"_command".length));
      void this.#readCommands();
    });
  }

  /** Commands of every peer that was pushed some, one LPOP pipeline per round. */
  async #readCommands(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      while (this.#dirty.size > 0) {
        const names = [...this.#dirty];
        this.#dirty.clear();
        const pipeline = this.#redis!.pipeline();
        for (const name of names) pipeline.lpop(`${name}_command`, 1_000);
        const replies = (await pipeline.exec()) ?? [];
        names.forEach((name, i) => {
          const commands = (replies[i]?.[1] ?? []) as string[];
          for (const command of commands) this.#handle(name, command);
        });
      }
    } finally {
      this.#reading = false;
    }
  }

  #handle(name: string, command: string): void {
    const peer = this.#peers.get(name);
    if (!peer || peer.exited) return;
    const out = this.#out();
    if (command.startsWith("peer|")) {
      peer.bootstraps++;
    } else if (command === "work") {
      // One LPUSH of all its lines (as documented above), not one per line: 190,000 commands
      // queued at once held ~200 MiB of ioredis Command objects in this process (heap snapshot
      // at 10,000 peers), which the bench then counted as tm's memory.
      const lines = Array.from({ length: this.#linesPerPeer - 1 }, (_, i) => `info|${name} ${i}`);
      if (lines.length > 0) out.lpush(`${name}_log`, ...lines);
    } else if (command === "shutdown") {
      out.lpush(`${name}_log`, `info|${name} ${this.#linesPerPeer - 1}`);
      out.set(`${name}_status`, "stopped");
      peer.exited = true;
      setTimeout(() => peer.exit.resolve({ code: 0, output: [] }), 20);
    }
  }

  /**
   * The pipeline of this tick: the writes issued in one tick go in one round trip, at most
   * PIPELINE_MAX commands each (a 190,000-command pipeline holds all its buffers and replies).
   */
  #out(): ReturnType<Redis["pipeline"]> {
    if (this.#pipeline && this.#pipeline.length >= PIPELINE_MAX) this.#flush();
    if (!this.#pipeline) {
      this.#pipeline = this.#redis!.pipeline();
      const pipeline = this.#pipeline;
      queueMicrotask(() => {
        if (this.#pipeline === pipeline) this.#flush();
      });
    }
    return this.#pipeline;
  }

  #flush(): void {
    const pipeline = this.#pipeline;
    this.#pipeline = undefined;
    void pipeline?.exec();
  }

  start(launch: PeerLaunch): Promise<RunningPeer> {
    const name = launch.placement.peer;
    const peer: SimulatedPeer = {
      name,
      exit: Promise.withResolvers<PeerExit>(),
      bootstraps: 0,
      exited: false,
    };
    this.#peers.set(name, peer);
    this.#out().set(`${name}_status`, `started|sim-${Date.now()}`);
    return Promise.resolve({ name, id: `sim ${name}`, exited: peer.exit.promise });
  }

  teardown(_options?: TeardownOptions): Promise<void> {
    this.#teardown ??= (async () => {
      for (const peer of this.#peers.values()) {
        peer.exited = true;
        peer.exit.resolve({ code: null, output: [] });
      }
      this.#subscriber?.disconnect();
      await this.#redis?.quit().catch(() => {});
    })();
    return this.#teardown;
  }
}
