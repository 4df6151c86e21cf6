/**
 * The zod schema of a tm test file: the single source of truth for the config types
 * and for the JSON Schema that `tm schema` prints.
 *
 * Pure: no I/O. Shape checks live here; cross-field checks (unknown peers, duplicate
 * names, port ranges per host) live in `validate.ts`.
 */
import { z } from "zod";
import { ChaosSchema } from "../faults/chaos.ts";
import { FAULT_SCHEMAS } from "../faults/kinds.ts";
import { SEVERITIES } from "../text/severity.ts";
import { MAX_SEED } from "./seed.ts";

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
const advertise_ = z.string().min(1).refine(
  (value) => !value.includes(":"),
  "goes into the peers' /ip4/ addresses: give an IPv4 address or a name",
).optional().describe(
  "the IP address (or name) peers on other hosts reach this host's peers at: their ADVERTISE_IP; " +
    "default: address resolved, or for a local host the address the other hosts see this machine at",
);
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
  advertise: advertise_,
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
  advertise: advertise_,
});

/**
 * A swarm's `registry:` as the start of an image reference: a host (with a dot or a port, or
 * `localhost`, so that Docker reads it as a registry) and optionally a lowercase path.
 */
export const REGISTRY_PATTERN =
  /^(?:localhost|\[[0-9a-fA-F:]+\]|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+|[a-zA-Z0-9-]+(?=:))(?::\d{1,5})?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** How tm reaches one swarm node's engine (for images and faults): SSH fields, or this machine. */
export const SwarmNodeSchema = z.union([
  z.literal("local"),
  SshHostSchema.pick({ address: true, ssh_user: true, ssh_auth: true, ssh_port: true }).extend({
    host_key_check: SshHostSchema.shape.host_key_check,
  }),
]).describe("local: this machine's engine; else the SSH fields of the node");

/**
 * A Docker Swarm (`connection: swarm`): its nodes become the run's hosts, found at run time
 * (docs/config.md, "Docker Swarm"). The manager is this machine's engine (`manager: local`) or
 * reached over SSH with the fields of an SSH host entry.
 */
export const SwarmHostSchema = z.strictObject({
  connection: z.literal("swarm").describe("swarm: the nodes of a Docker Swarm, found at run time"),
  name: hostName_,
  manager: z.literal("local").optional().describe(
    "local: this machine's engine is a manager of the swarm; else give address, ssh_user, ssh_auth",
  ),
  address: z.string().min(1).default("localhost").describe(
    "the manager's DNS name or IP address reached over SSH (without manager: local)",
  ),
  ssh_user: z.string().min(1).optional().describe("user tm logs in to the manager as"),
  ssh_auth: z.string().min(1).optional().describe(
    '"agent" for the SSH agent, or a private key path (~ expanded)',
  ),
  ssh_port: port.default(22),
  host_key_check: SshHostSchema.shape.host_key_check,
  nodes: z.record(z.string().min(1), SwarmNodeSchema).default({}).describe(
    "how tm reaches each node's engine, by node name (label tm.name, else hostname): images are " +
      "shipped and faults done there",
  ),
  registry: z.string().regex(
    REGISTRY_PATTERN,
    "a registry as an image reference starts: host[:port][/path] (no scheme), e.g. 127.0.0.1:5000",
  ).optional().describe(
    "a registry the nodes pull from: tm pushes each peer image there and the services use it " +
      "pinned by digest; a node without a nodes: entry is then watched through the manager",
  ),
  base_port: basePort,
  tags: tags.describe("tags every node carries besides its own (node labels tm.tag.<tag>)"),
  /** Each node's peers advertise the node's own address (`Status.Addr`). */
  advertise: z.never().optional(),
}).check((ctx) => {
  const entry = ctx.value;
  const ssh = entry.ssh_user !== undefined || entry.ssh_auth !== undefined;
  if ((entry.manager === "local") === ssh) {
    ctx.issues.push({
      code: "custom",
      input: entry,
      path: ["manager"],
      message: ssh
        ? "give either manager: local or the manager's SSH fields, not both"
        : "say where the swarm's manager is: manager: local, or address, ssh_user and ssh_auth",
    });
  } else if (ssh && (entry.ssh_user === undefined || entry.ssh_auth === undefined)) {
    ctx.issues.push({
      code: "custom",
      input: entry,
      path: [entry.ssh_user === undefined ? "ssh_user" : "ssh_auth"],
      message: "a manager reached over SSH needs address, ssh_user and ssh_auth",
    });
  }
});

/** The host kinds, told apart by `connection` (default `ssh`, so older configs stay valid). */
export const CONNECTIONS = ["ssh", "local", "swarm"] as const;

export const HostSchema = z.discriminatedUnion("connection", [
  SshHostSchema,
  LocalHostSchema,
  SwarmHostSchema,
]);

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

/** Most peers one `count:` entry stands for. */
export const MAX_GROUP_COUNT = 10_000;

/** `bootstrap: { random: K }`: K distinct other peers per peer, drawn from the test's seed. */
export const RandomBootstrapSchema = z.strictObject({
  random: z.number().int().min(1).describe(
    "how many distinct other peers each peer is bootstrapped with, drawn from the test's seed",
  ),
  from: z.string().min(1).optional().describe(
    'the peers they are drawn from: a name, glob or range (e.g. "seed-*"); default every peer',
  ),
});

/**
 * A peer entry as written in the test file: one peer, or with `count: N` a group of peers
 * `<name>-1` ... `<name>-N`; `bootstrap` a list of names and selectors, or `{ random: K }`. The
 * plan (`peer_groups.ts`) turns entries into the concrete peers of `PeerSchema`.
 */
export const PeerEntrySchema = PeerSchema.extend({
  name: PeerSchema.shape.name.describe(
    "unique; used in container names and Redis keys (<name>_status); with count, the group's " +
      "peers are <name>-1 ... <name>-N",
  ),
  count: z.number().int().min(1).max(MAX_GROUP_COUNT).optional().describe(
    `a group: this entry stands for peers <name>-1 ... <name>-N (1-${MAX_GROUP_COUNT}), each ` +
      "with its image, environment, runs_on and bootstrap",
  ),
  bootstrap: z.union([z.array(z.string()), RandomBootstrapSchema]).default([]).describe(
    'peers whose address this peer receives: names, globs ("seed-*") or ranges ' +
      '("node-[1-5]"), or { random: K, from: <selector> }',
  ),
});

export const CommandSchema = z.strictObject({
  time: z.number().min(0).describe("seconds after the timeline starts"),
  peer: z.string().describe(
    'the peer the command is sent to, or a glob ("node-*") or range ("node-[1-50]"): each ' +
      "selected peer gets it, in one batch",
  ),
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
    'the peer the check is about, a list of peers, or a glob or range ("*" for every peer)',
  ),
  status: z.string().min(1).optional().describe(
    "the peer has this status (the word before any |) at some moment of the window",
  ),
  log: z.string().min(1).optional().describe(
    "a log line of the peer matches this regular expression (RE2 syntax) within the window",
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

/** A timeline entry done by tm itself rather than sent to a peer (docs/config.md, "Faults"). */
export const FaultSchema = z.discriminatedUnion("fault", FAULT_SCHEMAS);

/** A `fault:` entry of the file: a fault, or `chaos` that stands for faults drawn from a seed. */
export const FileFaultSchema = z.discriminatedUnion("fault", [...FAULT_SCHEMAS, ChaosSchema]);

/** One entry of `commands:` in the file: a command sent to a peer, a fault, or chaos. */
export const TimelineEntrySchema = z.union([CommandSchema, FileFaultSchema]);

/** The levels of `log_level`: tm's one severity scale. */
export const LOG_LEVELS = SEVERITIES;

export const ConfigSchema = z.strictObject({
  name: z.string().min(1).regex(/^[^/\\]+$/, "must not contain / or \\").superRefine(
    (name, context) => {
      // A control character would reach file names, container names and terminals as is.
      // deno-lint-ignore no-control-regex
      const control = /[\u0000-\u001f\u007f-\u009f]/u.exec(name);
      if (control) {
        const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        context.addIssue({
          code: "custom",
          message: `must not contain control characters (U+${code} at character ${
            control.index + 1
          })`,
        });
      }
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

/**
 * The test file as written: peer entries may be groups (`count`) with selector or random
 * bootstraps, the timeline may hold `chaos` entries. What `tm schema` prints; `load.ts` checks it
 * and the plan expands it to `Config` (`expansion.ts`).
 */
export const TestFileSchema = ConfigSchema.extend({
  peers: z.array(PeerEntrySchema).describe(
    "one Docker container each, or count: N of them per entry; may be empty",
  ),
});

/**
 * A validated config as the engine sees it: concrete peers (groups expanded, every bootstrap a
 * list of names), every selector resolved to names, each `chaos` entry replaced by the faults it
 * draws (`src/faults/chaos.ts`), the seed set (the file's, else a new one), defaults applied,
 * environments as maps, `runs_on` as a sorted list.
 */
export type Config = Omit<z.output<typeof ConfigSchema>, "peers" | "commands"> & {
  peers: PeerConfig[];
  commands: TimelineEntryConfig[];
  /** What each chaos entry was expanded into; absent when the file has none. */
  chaos?: ChaosPlan[];
};
/** The test file as written (`TestFileSchema`), before the plan expands it. */
export type TestFile = z.output<typeof TestFileSchema>;
export type PeerEntryConfig = z.output<typeof PeerEntrySchema>;

/** One chaos entry, expanded. */
export interface ChaosPlan {
  /** Its position in the file's `commands`. */
  index: number;
  seed: number;
  /** The faults it stands for, undos included, in time order. */
  faults: FaultConfig[];
}
export type HostConfig = z.output<typeof HostSchema>;
export type SshHostConfig = z.output<typeof SshHostSchema>;
export type LocalHostConfig = z.output<typeof LocalHostSchema>;
export type SwarmHostConfig = z.output<typeof SwarmHostSchema>;
export type SwarmNodeConfig = z.output<typeof SwarmNodeSchema>;
/** A concrete peer; `group` is the name of the `count:` entry it comes from, if any. */
export type PeerConfig = z.output<typeof PeerSchema> & { group?: string };
export type CommandConfig = z.output<typeof CommandSchema>;
export type ExpectConfig = z.output<typeof ExpectSchema>;
export type FaultConfig = z.output<typeof FaultSchema>;
/** A timeline entry of the plan: a command or a fault (chaos expanded). */
export type TimelineEntryConfig = CommandConfig | FaultConfig;
/** A timeline entry as the file gives it. */
export type FileTimelineEntry = z.output<typeof TimelineEntrySchema>;
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
  if (host.connection === "swarm") {
    return host.manager === "local" ? "swarm:local" : `swarm:${host.address}:${host.ssh_port}`;
  }
  return host.connection === "local" ? "local" : `${host.address}:${host.ssh_port}`;
}

/** The display name of a host: its `name`, else its address (a swarm on this machine: `swarm`). */
export function hostName(host: HostConfig): string {
  if (host.connection === "swarm" && host.manager === "local") return host.name ?? "swarm";
  return host.name ?? host.address;
}
