/**
 * Runs one conformance case: a fresh peer process with the case's environment, the case's
 * steps (commands pushed, statuses awaited, signals sent), then compares exit code, statuses,
 * log lines, delay file and stderr with the expectation.
 */
import { Redis } from "npm:ioredis@^6.0.0";
import { vladFor } from "../typescript/reference_peer.ts";
import {
  commandLogDifference,
  commandsLeftText,
  exitDifference,
  listDifference,
  logFormatDifference,
  quote,
  stderrDifference,
  tmStatusDifference,
} from "./differences.ts";
import { PeerProcess } from "./peer_process.ts";
import { freePort } from "./redis_server.ts";
import type { StatusRecorder } from "./status_recorder.ts";
import {
  type ConcreteCase,
  concreteCase,
  type Step,
  tmReading,
  type VectorCase,
} from "./vectors.ts";

/** The UDP port every case advertises (LISTEN_ADDR) and the IP (ADVERTISE_IP). */
export const LISTEN_PORT = 4001;
export const ADVERTISE_IP = "10.9.8.7";
/** Database of the `acl-db3` cases. */
const ACL_DB = 3;
/** The connect timeout given to peers unless a case sets its own. */
const DEFAULT_CONNECT_TIMEOUT_S = "5";

/**
 * Variables the runner sets itself: never inherited from its own environment (README.md, "What
 * the runner gives the peer"). `RUST_LOG` is not one of them: a caller's reaches the peer (a Rust
 * peer's own `EnvFilter` reads it), and `LOG_LEVEL=info`, set unless a case says otherwise,
 * keeps the libraries' forwarding threshold where the cases expect it whatever `RUST_LOG` says.
 */
export const MANAGED_VARIABLES = [
  "REDIS_URL",
  "PEER_NAME",
  "LOG_LEVEL",
  "LISTEN_ADDR",
  "ADVERTISE_IP",
  "TM_DELAY_FILE",
  "MULE_CONNECT_TIMEOUT",
] as const;

/** Prefix of the reference peers' test hooks: removed from the runner's environment. */
export const REMOVED_PREFIX = "REF_PEER_";

/** What every case of one run shares. */
export interface RunnerContext {
  /** The peer's command line (`--peer-cmd`). */
  peerCommand: string;
  /** The Redis the peers use (database 0 unless the URL names one). */
  redisUrl: string;
  /** An ACL user with a password the runner created on that Redis. */
  aclUser: { name: string; password: string };
  recorder: StatusRecorder;
  /** A directory for delay files. */
  tempDir: string;
  /** How long one case may take before it fails (peer killed). */
  caseTimeoutMs: number;
}

/** The verdict of one case: no differences = passed, unless `skipped` says why it could not be. */
export interface CaseResult {
  name: string;
  differences: string[];
  /** The case does not apply to this peer (e.g. it logs nothing to check): why. */
  skipped?: string;
}

/** Where the protocol document has a peer write the restart delay without `TM_DELAY_FILE`. */
const DEFAULT_DELAY_FILE = "/tmp/delay";

function databaseOf(url: string): number {
  const db = Number(new URL(url).pathname.slice(1) || "0");
  return Number.isInteger(db) ? db : 0;
}

function withCredentials(url: string, user: string, password: string, db: number): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  parsed.pathname = `/${db}`;
  return parsed.href;
}

/** Where the case's peer finds Redis, and which database its keys are in. */
function redisFor(kase: VectorCase, ctx: RunnerContext, secret: string) {
  switch (kase.redis) {
    case "default":
      return { url: ctx.redisUrl, db: databaseOf(ctx.redisUrl) };
    case "acl-db3":
      return {
        url: withCredentials(ctx.redisUrl, ctx.aclUser.name, ctx.aclUser.password, ACL_DB),
        db: ACL_DB,
      };
    case "unreachable":
      return { url: `redis://conformance:${secret}@127.0.0.1:${freePort()}/0`, db: 0 };
  }
}

/**
 * The peer's whole environment: `base` (the runner's own), minus the managed variables and the
 * `REF_PEER_` ones, plus the runner's values and the case's.
 */
export function peerEnvironment(
  c: Pick<ConcreteCase, "peer" | "env" | "unset">,
  redisUrl: string,
  delayFile: string,
  base: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const env = { ...base };
  for (const name of MANAGED_VARIABLES) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith(REMOVED_PREFIX)) delete env[name];
  Object.assign(env, {
    REDIS_URL: redisUrl,
    PEER_NAME: c.peer,
    LOG_LEVEL: "info",
    LISTEN_ADDR: `/ip4/0.0.0.0/udp/${LISTEN_PORT}/quic-v1`,
    ADVERTISE_IP,
    TM_DELAY_FILE: delayFile,
    MULE_CONNECT_TIMEOUT: DEFAULT_CONNECT_TIMEOUT_S,
  }, c.env);
  for (const name of c.unset) delete env[name];
  return env;
}

/** Runs one case against `ctx`; never throws for a peer's misbehaviour (that is a difference). */
export async function runCase(kase: VectorCase, ctx: RunnerContext): Promise<CaseResult> {
  const secret = `conformance-secret-${crypto.randomUUID().slice(0, 8)}`;
  const delayFile = `${ctx.tempDir}/${kase.peer}-delay`;
  const c = concreteCase(kase, {
    peer: kase.peer,
    vlad: await vladFor(kase.peer),
    multiaddr: `/ip4/${ADVERTISE_IP}/udp/${LISTEN_PORT}/quic-v1`,
    delay_file: delayFile,
    secret,
  });
  const { url, db } = redisFor(kase, ctx, secret);
  const keys = new Redis(ctx.redisUrl, { db, maxRetriesPerRequest: 3 });
  const statusKey = `${c.peer}_status`;
  const commandKey = `${c.peer}_command`;
  const differences: string[] = [];
  let skipped: string | undefined;
  let peer: PeerProcess | undefined;
  try {
    await keys.del(statusKey, commandKey, `${c.peer}_log`);
    await Deno.remove(delayFile).catch(() => {});
    const mark = ctx.recorder.mark();
    const statuses = () => ctx.recorder.values(db, statusKey, mark);
    const env = peerEnvironment(c, url, delayFile);

    const deadline = AbortSignal.timeout(ctx.caseTimeoutMs);
    peer = new PeerProcess(ctx.peerCommand, env);
    const launchedAt = Date.now();
    /** Index in `statuses()` from which the next await looks: each await consumes a status. */
    let cursor = 0;
    for (const [i, step] of c.steps.entries()) {
      const where = `step ${i + 1} (${stepText(step)})`;
      if ("push" in step) {
        if (step.push.length > 0) await keys.rpush(commandKey, ...step.push);
      } else if ("signal" in step) {
        peer.signal(step.signal);
      } else if ("idle" in step) {
        const idle = AbortSignal.any([deadline, AbortSignal.timeout(step.idle * 1_000)]);
        const code = await peer.waitExit(idle);
        if (code !== undefined) {
          differences.push(
            `${where}: the peer exited (code ${code}) while waiting for its next command; ` +
              `it must wait however long that takes (BLPOP <peer>_command 0, no socket timeout)` +
              `${await stderrTail(peer)}`,
          );
          break;
        }
      } else if ("entrypoint_restart" in step) {
        const wrong = await restartAsEntrypoint(peer, step.entrypoint_restart.delay, {
          delayFile,
          launchedAt,
          deadline,
          timeoutS: ctx.caseTimeoutMs / 1_000,
        });
        if (wrong) {
          differences.push(`${where}: ${wrong}`);
          break;
        }
        await peer[Symbol.asyncDispose]();
        peer = new PeerProcess(ctx.peerCommand, env);
      } else {
        const wanted = "await_status" in step
          ? (v: string) => v === step.await_status
          : (v: string) => tmReading(v) === step.await_tm_status;
        const index = await awaitStatus(peer, wanted, cursor, deadline, {
          recorder: ctx.recorder,
          db,
          statusKey,
          mark,
          drain: () => drainMonitor(keys, ctx.recorder, db),
        });
        if (index === undefined) {
          differences.push(
            `${where}: never came; ${await whyNoStatus(peer, ctx, statuses(), cursor)}${
              misplacedStatus(ctx.recorder, mark, c.peer, db)
            }`,
          );
          break;
        }
        cursor = index + 1;
      }
    }
    if (differences.length > 0) {
      // A step failed: what follows would only repeat it. Its message says what came.
      return { name: c.name, differences };
    }
    const code = await peer.waitExit(deadline);
    if (code === undefined) {
      differences.push(
        `after the last step: the peer did not exit within ${ctx.caseTimeoutMs / 1_000}s (killed)${
          c.steps.some((s) => "push" in s && s.push.includes("shutdown"))
            ? `; after "shutdown" it must set "stopped" and exit 0`
            : ""
        }`,
      );
    }
    await peer[Symbol.asyncDispose]();
    const exitCode = code ?? (await peer.exited);
    const stderr = await peer.stderr;

    const exitWrong = code === undefined ? undefined : exitDifference(c.expect.exit, exitCode);
    if (exitWrong) differences.push(exitWrong);
    if (c.expect.statuses || c.expect.tmStatuses) await drainMonitor(keys, ctx.recorder, db);
    if (c.expect.statuses) {
      const wrong = listDifference("statuses", c.expect.statuses, statuses());
      if (wrong) differences.push(wrong);
    }
    if (c.expect.tmStatuses) {
      const wrong = tmStatusDifference(c.expect.tmStatuses, statuses());
      if (wrong) differences.push(wrong);
    }
    if (c.expect.commandsLeft !== undefined) {
      const left = await keys.lrange(commandKey, 0, -1);
      if (left.length !== c.expect.commandsLeft) {
        differences.push(commandsLeftText(left, c.expect.commandsLeft, commandKey));
      }
    }
    const logs = (await keys.lrange(`${c.peer}_log`, 0, -1)).reverse();
    const malformed = logFormatDifference(logs);
    if (malformed) differences.push(malformed);
    if (c.expect.logs) {
      const wrong = listDifference("log lines", c.expect.logs, logs);
      if (wrong) differences.push(wrong);
    }
    if (c.expect.commandLog) {
      const verdict = commandLogDifference(c.expect.commandLog.commands, logs);
      if (verdict.none && c.expect.commandLog.skipIfNone) {
        skipped = "the peer logged no line naming the commands it was sent, so no loss can be seen";
      } else if (verdict.difference) differences.push(verdict.difference);
    }
    if (c.expect.delayFile !== undefined) {
      const written = await Deno.readTextFile(delayFile).catch(() => undefined);
      if (written === undefined) differences.push(`no delay file at ${delayFile}`);
      else if (written.trim() !== c.expect.delayFile) {
        differences.push(
          `delay file holds ${quote(written)}, expected ${quote(c.expect.delayFile)}`,
        );
      }
    }
    if (c.expect.stderrLine) {
      const wrong = stderrDifference(stderr, c.expect.stderrLine);
      if (wrong) differences.push(wrong);
    }
    if (differences.length > 0 && exitCode !== 0 && c.expect.exit === 0) {
      const tail = stderr.trim().split("\n").slice(-2).join(" / ");
      if (tail) differences.push(`stderr ends with ${quote(tail)}`);
    }
  } catch (error) {
    differences.push(`runner error: ${(error as Error).message}`);
  } finally {
    await peer?.[Symbol.asyncDispose]();
    keys.disconnect();
  }
  return differences.length > 0 || skipped === undefined
    ? { name: c.name, differences }
    : { name: c.name, differences, skipped };
}

/** A step as the report names it: `await status "started"`, `push 51 commands`, ... */
export function stepText(step: Step): string {
  if ("push" in step) {
    return step.push.length === 1
      ? `push ${quote(step.push[0])}`
      : `push ${step.push.length} commands, ${quote(step.push[0])} first`;
  }
  if ("signal" in step) return `send ${step.signal}`;
  if ("idle" in step) return `send nothing for ${step.idle}s`;
  if ("await_status" in step) return `await status ${quote(step.await_status)}`;
  if ("await_tm_status" in step) {
    return step.await_tm_status === "started"
      ? `await status "started" or "started|<address info>"`
      : `await status ${quote(step.await_tm_status)}`;
  }
  return `restart as the entrypoint does: exit 42, delay ${quote(step.entrypoint_restart.delay)}`;
}

/**
 * Waits for a status from `from` on that `wanted` accepts; its index, or undefined when the
 * peer exited (or the deadline passed) first. A peer that sets its status and exits at once may
 * end the wait before MONITOR delivered that SET: `drain` catches up before judging.
 */
async function awaitStatus(
  peer: PeerProcess,
  wanted: (value: string) => boolean,
  from: number,
  deadline: AbortSignal,
  at: {
    recorder: StatusRecorder;
    db: number;
    statusKey: string;
    mark: number;
    drain: () => Promise<void>;
  },
): Promise<number | undefined> {
  const gone = new AbortController();
  peer.exited.then(() => gone.abort());
  const ended = AbortSignal.any([deadline, gone.signal]);
  try {
    return await at.recorder.waitFor(at.db, at.statusKey, wanted, ended, {
      mark: at.mark,
      from,
    });
  } catch {
    if (!gone.signal.aborted) return undefined;
    await at.drain();
    const index = at.recorder.values(at.db, at.statusKey, at.mark)
      .findIndex((v, i) => i >= from && wanted(v));
    return index >= 0 ? index : undefined;
  }
}

/** Why an awaited status did not come: the peer's exit, or the time; and what came instead. */
async function whyNoStatus(
  peer: PeerProcess,
  ctx: RunnerContext,
  statuses: string[],
  from: number,
): Promise<string> {
  const came = statuses.slice(from);
  const instead = came.length === 0 ? "it set no status" : `it set ${came.map(quote).join(", ")}`;
  if (peer.exitCode === undefined) return `${instead} in ${ctx.caseTimeoutMs / 1_000}s`;
  return `${instead}, then exited with code ${peer.exitCode}${await stderrTail(peer)}`;
}

/** `; stderr ends with "..."` once the peer ended (it is killed if still running), or "". */
async function stderrTail(peer: PeerProcess): Promise<string> {
  await peer[Symbol.asyncDispose]();
  const tail = (await peer.stderr).trim().split("\n").slice(-2).join(" / ");
  return tail ? `; stderr ends with ${quote(tail)}` : "";
}

/**
 * A hint when the peer set its status where the orchestrator does not look: in another
 * database (the URL's `/<db>` ignored), or under another key (`PEER_NAME` not used).
 */
function misplacedStatus(recorder: StatusRecorder, mark: number, peer: string, db: number): string {
  const sets = recorder.since(mark).filter((s) => s.key.endsWith("_status"));
  const otherDb = sets.find((s) => s.key === `${peer}_status` && s.db !== db);
  if (otherDb) {
    return ` (it SET ${otherDb.key} in database ${otherDb.db}: select database ${db}, the path` +
      ` of REDIS_URL)`;
  }
  const otherKey = sets.find((s) => s.key !== `${peer}_status`);
  if (otherKey) {
    return ` (it SET ${otherKey.key}, expected ${peer}_status: the key is PEER_NAME + "_status")`;
  }
  return "";
}

/**
 * The entrypoint's part of a restart: the peer exits 42 with the delay in the delay file
 * (`TM_DELAY_FILE`; a peer that writes /tmp/delay, as the protocol document says, is also
 * accepted if it wrote it during this case). The file is removed and its delay slept, as
 * lib/entrypoint.sh does. Returns what went wrong, or undefined.
 */
async function restartAsEntrypoint(
  peer: PeerProcess,
  delay: string,
  at: { delayFile: string; launchedAt: number; deadline: AbortSignal; timeoutS: number },
): Promise<string | undefined> {
  const code = await peer.waitExit(at.deadline);
  if (code === undefined) return `the peer did not exit within ${at.timeoutS}s`;
  if (code !== 42) return `exit code ${code}, expected 42 (the restart exit code)`;
  let path = at.delayFile;
  let written = await Deno.readTextFile(path).catch(() => undefined);
  if (written === undefined) {
    const fresh = await Deno.stat(DEFAULT_DELAY_FILE)
      .then((s) => (s.mtime?.getTime() ?? 0) >= at.launchedAt - 1_000)
      .catch(() => false);
    if (fresh) {
      path = DEFAULT_DELAY_FILE;
      written = await Deno.readTextFile(path).catch(() => undefined);
    }
  }
  if (written === undefined) {
    return `exit 42 but no delay file: expected ${
      quote(delay)
    } in $TM_DELAY_FILE (${at.delayFile})` +
      ` or ${DEFAULT_DELAY_FILE}`;
  }
  await Deno.remove(path).catch(() => {});
  if (written.trim() !== delay) {
    return `the delay file ${path} holds ${quote(written)}, expected ${quote(delay)} (the` +
      ` seconds of "restart|${delay}", as sent)`;
  }
  const seconds = Number(delay);
  await new Promise((resolve) => setTimeout(resolve, Math.min(seconds, 5) * 1_000));
  return undefined;
}

/**
 * Waits until MONITOR delivered everything sent before now: SETs a marker and waits for it
 * (MONITOR reports commands in the order the server ran them).
 */
async function drainMonitor(keys: Redis, recorder: StatusRecorder, db: number): Promise<void> {
  const marker = crypto.randomUUID();
  const mark = recorder.mark();
  await keys.set("conformance_monitor_marker", marker);
  await recorder.waitFor(
    db,
    "conformance_monitor_marker",
    (v) => v === marker,
    AbortSignal.timeout(10_000),
    { mark },
  );
  await keys.del("conformance_monitor_marker");
}
