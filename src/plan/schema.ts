/**
 * The zod schema of a tm test file: the single source of truth for the config types
 * and for the JSON Schema that `tm schema` prints.
 *
 * Pure: no I/O. Shape checks live here; cross-field checks (unknown peers, duplicate
 * names, port ranges per host) live in `validate.ts`.
 */
import { z } from "zod";
import { SEVERITIES } from "../text/severity.ts";

/** Peer names become container names and Redis key prefixes (`<name>_status`). */
export const PEER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/**
 * Longest test name, in UTF-8 bytes. The log file is `<name>-YYYY-MM-DD-HH-MM-SS.log` (24 bytes
 * more) and a file name holds 255 bytes, so 231 would fit; 200 leaves room and is plenty.
 * Container names use a shortened slug of the name (`container_names.ts`).
 */
export const MAX_TEST_NAME_BYTES = 200;

/** A tag is a plain word so that `runs_on` sets compare unambiguously. */
export const TAG_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/;

/** Environment variable names as POSIX shells accept them. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const port = z.number().int().min(1).max(65535);

/** Seeds are 32-bit unsigned integers: what `src/plan/seed.ts`'s generator takes whole. */
export const MAX_SEED = 0xffff_ffff;

/**
 * A NUL cannot cross exec(): Docker would fail mid-run on it (and take the host's SSH connection
 * down), so a value holding one is a config error. Every other character reaches the peer intact.
 */
const NUL_MESSAGE = "contains a NUL character (\\0), which no environment variable can carry";
const withoutNul = (text: string) => !text.includes("\0");

const envValue = z
  .union([z.string().refine(withoutNul, NUL_MESSAGE), z.number(), z.boolean()])
  .transform(String);

/**
 * Environment: a `KEY: VALUE` map or a `- KEY=VALUE` list; both become a map.
 * In the list form everything after the first `=` is the value (it may contain `=`).
 */
export const EnvironmentSchema = z
  .union([
    z.record(z.string().regex(ENV_NAME_PATTERN, "not a valid variable name"), envValue),
    z.array(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, "expected KEY=VALUE").refine(
        withoutNul,
        NUL_MESSAGE,
      ),
    ),
  ])
  .transform((env): Record<string, string> =>
    Array.isArray(env)
      ? Object.fromEntries(env.map((entry) => {
        const at = entry.indexOf("=");
        return [entry.slice(0, at), entry.slice(at + 1)];
      }))
      : env
  );

export const TimeoutSchema = z.strictObject({
  startup: z.number().positive().default(60).describe(
    "seconds to wait for every peer to report started",
  ),
  shutdown: z.number().positive().default(30).describe(
    "seconds to wait for every peer to report stopped",
  ),
});

export const RedisSchema = z.strictObject({
  port: port.describe("host port the Redis container publishes"),
  image: z.string().min(1).describe("Redis image, e.g. redis:7-alpine"),
  advertise: z.string().min(1).optional().describe(
    "host or host:port peers use to reach Redis; default: the orchestrator's address as each host sees it",
  ),
});

const hostName_ = z.string().min(1).optional().describe("display name; defaults to address");
const basePort = port.describe("first UDP port for this host's peers");
const tags = z.array(z.string().regex(TAG_PATTERN, "not a valid tag")).default([]).describe(
  "labels that peers' runs_on select hosts by",
);

/** A host reached over SSH (the default `connection`). */
export const SshHostSchema = z.strictObject({
  connection: z.literal("ssh").default("ssh").describe(
    "ssh: reach the host over SSH (default); local: drive this machine's Docker directly",
  ),
  address: z.string().min(1).describe("DNS name or IP address reached over SSH"),
  name: hostName_,
  ssh_user: z.string().min(1).describe("user tm logs in as over SSH"),
  ssh_auth: z.string().min(1).describe(
    '"agent" for the SSH agent, or a private key path (~ expanded)',
  ),
  ssh_port: port.default(22),
  host_key_check: z.enum(["accept-new", "off"]).default("accept-new").describe(
    "accept-new: unknown hosts are recorded in ~/.ssh/known_hosts, changed keys refused; off: no check",
  ),
  base_port: basePort,
  tags,
});

/** This machine, driven through its own Docker CLI: no SSH, no keys (`connection: local`). */
export const LocalHostSchema = z.strictObject({
  connection: z.literal("local").describe(
    "ssh: reach the host over SSH (default); local: drive this machine's Docker directly",
  ),
  address: z.string().min(1).default("localhost").describe(
    "this machine's name, for display only; default localhost",
  ),
  name: hostName_,
  base_port: basePort,
  tags,
});

/** The host kinds, told apart by `connection` (default `ssh`, so older configs stay valid). */
export const CONNECTIONS = ["ssh", "local"] as const;

export const HostSchema = z.discriminatedUnion("connection", [SshHostSchema, LocalHostSchema]);

export const PeerSchema = z.strictObject({
  name: z.string().regex(
    PEER_NAME_PATTERN,
    "must start with a letter or digit and use only letters, digits, _ . - (at most 63)",
  ).describe("unique; used in container names and Redis keys (<name>_status)"),
  image: z.string().min(1).describe("Docker image the peer's container runs"),
  bootstrap: z.array(z.string()).default([]).describe("peers whose address this peer receives"),
  environment: EnvironmentSchema.default({}).describe(
    "NAME: value map or - NAME=value list; overrides peer_environment",
  ),
  runs_on: z
    .union([
      z.string().regex(TAG_PATTERN, "not a valid tag"),
      z.array(z.string().regex(TAG_PATTERN, "not a valid tag")),
    ])
    .default([])
    .transform((tags) => [...new Set(typeof tags === "string" ? [tags] : tags)].sort())
    .describe("a tag or list of tags the host must all carry; empty means any host"),
});

export const CommandSchema = z.strictObject({
  time: z.number().min(0).describe("seconds after the timeline starts"),
  peer: z.string().describe("the peer the command is sent to"),
  command: z.string().min(1).describe(
    "connect, disconnect, shutdown, restart|<seconds>, or any string the peer understands",
  ),
});

/**
 * The predicates of one `expect:` check (docs/config.md, "Expectations"); a check carries
 * exactly one (validate.ts says so with a position).
 */
export const EXPECT_PREDICATES = ["status", "log", "no_log", "restarts", "exit_code"] as const;
export type ExpectPredicate = (typeof EXPECT_PREDICATES)[number];

export const ExpectSchema = z.strictObject({
  peer: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe(
    'the peer the check is about, a list of peers, or "*" for every peer',
  ),
  status: z.string().min(1).optional().describe(
    "the peer has this status (the word before any |) at some moment of the window",
  ),
  log: z.string().min(1).optional().describe(
    "a log line of the peer matches this regular expression (JavaScript syntax) within the window",
  ),
  no_log: z.enum(SEVERITIES).optional().describe(
    "the peer logs no line at this level or worse within the window",
  ),
  restarts: z.number().int().min(0).optional().describe(
    "the peer restarted exactly this many times during the run",
  ),
  exit_code: z.number().int().optional().describe("the peer's container exited with this code"),
  by: z.number().min(0).optional().describe(
    "seconds on the timeline clock (as commands[].time): the window ends here; default the run's end",
  ),
  after: z.number().min(0).optional().describe(
    "seconds on the timeline clock: the window starts here; default the run's start",
  ),
  known: z.string().min(1).optional().describe(
    "a known failure (a link or text): while it fails the run still passes; listed as known",
  ),
});

/**
 * Who a fault acts on: `peer: <name>`, or `peers:` a list or `"*"` (every peer). Exactly one of
 * the two where a fault needs targets; `heal` without either heals every peer (`validate.ts`).
 */
const faultTargets = {
  peer: z.string().optional().describe("the peer the fault acts on"),
  peers: z.union([z.array(z.string()).min(1), z.literal("*")]).optional().describe(
    'the peers the fault acts on: a list, or "*" for every peer',
  ),
};
const faultTime = z.number().min(0).describe("seconds after the timeline starts");

/** Longest delay or jitter a `delay` fault sets: a minute is already a dead link. */
export const MAX_DELAY_MS = 60_000;
/** Fastest rate a `rate` fault sets (100 Gbit/s): beyond any link the test bed has. */
export const MAX_RATE_KBIT = 100_000_000;

export const DelayFaultSchema = z.strictObject({
  time: faultTime,
  fault: z.literal("delay").describe("outgoing latency (tc netem delay)"),
  ...faultTargets,
  ms: z.number().min(0).max(MAX_DELAY_MS).describe("added delay of each outgoing packet, ms"),
  jitter: z.number().min(0).max(MAX_DELAY_MS).optional().describe(
    "random variation of the delay, ± ms; default 0",
  ),
});

export const LossFaultSchema = z.strictObject({
  time: faultTime,
  fault: z.literal("loss").describe("outgoing packet loss (tc netem loss)"),
  ...faultTargets,
  percent: z.number().min(0).max(100).describe("share of outgoing packets dropped, 0-100"),
});

export const RateFaultSchema = z.strictObject({
  time: faultTime,
  fault: z.literal("rate").describe("outgoing bandwidth limit (tc HTB)"),
  ...faultTargets,
  kbit: z.number().int().min(1).max(MAX_RATE_KBIT).describe("outgoing rate, kbit/s"),
});

export const PartitionFaultSchema = z.strictObject({
  time: faultTime,
  fault: z.literal("partition").describe("no traffic between the groups, both ways"),
  groups: z.array(z.array(z.string()).min(1)).min(2).describe(
    "at least two non-empty lists of peers; each peer in at most one",
  ),
});

export const HealFaultSchema = z.strictObject({
  time: faultTime,
  fault: z.literal("heal").describe("removes network faults (delay, loss, rate, partition)"),
  ...faultTargets,
});

/** The faults that act on a peer's container or process as a whole. */
export const CONTAINER_FAULTS = ["pause", "resume", "kill", "start"] as const;

export const ContainerFaultSchema = z.strictObject({
  time: faultTime,
  fault: z.enum(CONTAINER_FAULTS).describe(
    "pause/resume: freeze and thaw; kill: SIGKILL (an expected exit); start: run a killed peer again",
  ),
  ...faultTargets,
});

/** A timeline entry done by tm itself rather than sent to a peer (docs/config.md, "Faults"). */
export const FaultSchema = z.discriminatedUnion("fault", [
  DelayFaultSchema,
  LossFaultSchema,
  RateFaultSchema,
  PartitionFaultSchema,
  HealFaultSchema,
  ContainerFaultSchema,
]);

/** One entry of `commands:`: a command sent to a peer, or a fault. */
export const TimelineEntrySchema = z.union([CommandSchema, FaultSchema]);

/** The levels of `log_level`: tm's one severity scale. */
export const LOG_LEVELS = SEVERITIES;

export const ConfigSchema = z.strictObject({
  name: z.string().min(1).regex(/^[^/\\\0]+$/, "must not contain / or \\").superRefine(
    (name, context) => {
      const bytes = new TextEncoder().encode(name).length;
      if (bytes > MAX_TEST_NAME_BYTES) {
        context.addIssue({
          code: "custom",
          message:
            `must be at most ${MAX_TEST_NAME_BYTES} bytes (UTF-8) to fit the log file name ` +
            `<name>-YYYY-MM-DD-HH-MM-SS.log; this one has ${bytes}`,
        });
      }
    },
  ).describe(
    `test name, used in the log file name, container names and the UI header; at most ${MAX_TEST_NAME_BYTES} bytes`,
  ),
  timeout: TimeoutSchema.default({ startup: 60, shutdown: 30 }),
  redis: RedisSchema,
  images: z.array(z.string().min(1)).default([]).describe(
    "images pulled locally and shipped to hosts",
  ),
  remove_images: z.boolean().default(false).describe(
    "after the test, remove the images from every host",
  ),
  peer_environment: EnvironmentSchema.default({}).describe(
    "environment of every peer: NAME: value map or - NAME=value list",
  ),
  hosts: z.array(HostSchema).min(1).describe(
    "machines that run peers, reached over SSH or (connection: local) this machine",
  ),
  peers: z.array(PeerSchema).describe("one Docker container each; may be empty"),
  commands: z.array(TimelineEntrySchema).describe(
    "the timeline: commands sent to peers and faults done by tm; sorted by time before the run",
  ),
  log_level: z.enum(LOG_LEVELS).default("info").describe("orchestrator log level"),
  expect: z.array(ExpectSchema).default([]).describe(
    "checks the run must meet to pass, each on a peer, a list of peers or every peer",
  ),
  fail_fast: z.boolean().default(false).describe(
    "the first failed check, or a peer reporting failed, stops the run at once (gracefully)",
  ),
  seed: z.number().int().min(0).max(MAX_SEED).optional().describe(
    "seed of every random choice the plan makes (bootstrap picks, chaos); default: a new one, printed",
  ),
});

/** A validated config, defaults applied, environments as maps, `runs_on` as a sorted list. */
export type Config = z.output<typeof ConfigSchema>;
export type HostConfig = z.output<typeof HostSchema>;
export type SshHostConfig = z.output<typeof SshHostSchema>;
export type LocalHostConfig = z.output<typeof LocalHostSchema>;
export type PeerConfig = z.output<typeof PeerSchema>;
export type CommandConfig = z.output<typeof CommandSchema>;
export type ExpectConfig = z.output<typeof ExpectSchema>;
export type FaultConfig = z.output<typeof FaultSchema>;
export type TimelineEntryConfig = z.output<typeof TimelineEntrySchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Whether a timeline entry is a fault (`fault:`) rather than a command (`command:`). */
export function isFault(entry: TimelineEntryConfig): entry is FaultConfig {
  return "fault" in entry;
}

/**
 * Where a host is reached, for messages and duplicate checks: `address:ssh_port` over SSH,
 * `local` for this machine's own engine.
 */
export function hostEndpoint(host: HostConfig): string {
  return host.connection === "local" ? "local" : `${host.address}:${host.ssh_port}`;
}

/** The display name of a host: its `name`, else its address. */
export function hostName(host: HostConfig): string {
  return host.name ?? host.address;
}
