/**
 * Runs one conformance case: a fresh peer process with the case's environment, the case's
 * steps (commands pushed, statuses awaited, signals sent), then compares exit code, statuses,
 * log lines, delay file and stderr with the expectation.
 */
import { Redis } from "npm:ioredis@^6.0.0";
import { vladFor } from "../typescript/reference_peer.ts";
import { exitDifference, listDifference, quote, stderrDifference } from "./differences.ts";
import { PeerProcess } from "./peer_process.ts";
import { freePort } from "./redis_server.ts";
import type { StatusRecorder } from "./status_recorder.ts";
import { type ConcreteCase, concreteCase, type VectorCase } from "./vectors.ts";

/** The UDP port every case advertises (LISTEN_ADDR) and the IP (ADVERTISE_IP). */
export const LISTEN_PORT = 4001;
export const ADVERTISE_IP = "10.9.8.7";
/** Database of the `acl-db3` cases. */
const ACL_DB = 3;
/** The connect timeout given to peers unless a case sets its own. */
const DEFAULT_CONNECT_TIMEOUT_S = "5";

/** Variables the runner sets itself: never inherited from its own environment. */
const MANAGED_VARIABLES = [
  "REDIS_URL",
  "PEER_NAME",
  "LOG_LEVEL",
  "RUST_LOG",
  "LISTEN_ADDR",
  "ADVERTISE_IP",
  "TM_DELAY_FILE",
  "MULE_CONNECT_TIMEOUT",
];

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

/** The verdict of one case: no differences = passed. */
export interface CaseResult {
  name: string;
  differences: string[];
}

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

/** The peer's whole environment: the runner's, minus the managed variables, plus the case's. */
function peerEnvironment(
  c: ConcreteCase,
  redisUrl: string,
  delayFile: string,
): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of MANAGED_VARIABLES) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith("REF_PEER_")) delete env[name];
  Object.assign(env, {
    REDIS_URL: redisUrl,
    PEER_NAME: c.peer,
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
  const differences: string[] = [];
  try {
    await keys.del(statusKey, `${c.peer}_command`, `${c.peer}_log`);
    await Deno.remove(delayFile).catch(() => {});
    ctx.recorder.forget(db, statusKey);

    const deadline = AbortSignal.timeout(ctx.caseTimeoutMs);
    await using peer = new PeerProcess(ctx.peerCommand, peerEnvironment(c, url, delayFile));
    const gone = new AbortController();
    peer.exited.then(() => gone.abort());
    const stepsEnded = AbortSignal.any([deadline, gone.signal]);

    for (const step of c.steps) {
      if ("push" in step) {
        if (step.push.length > 0) await keys.rpush(`${c.peer}_command`, ...step.push);
      } else if ("signal" in step) {
        peer.signal(step.signal);
      } else {
        try {
          await ctx.recorder.waitFor(db, statusKey, step.await_status, stepsEnded);
        } catch {
          // A peer that sets its status and exits at once may end the wait before MONITOR
          // delivered that SET: catch up with MONITOR before judging.
          if (gone.signal.aborted) {
            await drainMonitor(keys, ctx.recorder, db);
            if (ctx.recorder.values(db, statusKey).includes(step.await_status)) continue;
          }
          const why = peer.exitCode !== undefined
            ? `the peer exited (code ${peer.exitCode})`
            : `${ctx.caseTimeoutMs / 1_000}s passed`;
          differences.push(`status ${quote(step.await_status)} never came: ${why}`);
          break;
        }
      }
    }
    const code = await peer.waitExit(deadline);
    if (code === undefined) {
      differences.push(`the peer did not exit within ${ctx.caseTimeoutMs / 1_000}s (killed)`);
    }
    await peer[Symbol.asyncDispose]();
    const exitCode = code ?? (await peer.exited);
    const stderr = await peer.stderr;

    const exitWrong = code === undefined ? undefined : exitDifference(c.expect.exit, exitCode);
    if (exitWrong) differences.push(exitWrong);
    if (c.expect.statuses) {
      await drainMonitor(keys, ctx.recorder, db);
      const wrong = listDifference(
        "statuses",
        c.expect.statuses,
        ctx.recorder.values(db, statusKey),
      );
      if (wrong) differences.push(wrong);
    }
    if (c.expect.logs) {
      const logs = (await keys.lrange(`${c.peer}_log`, 0, -1)).reverse();
      const wrong = listDifference("log lines", c.expect.logs, logs);
      if (wrong) differences.push(wrong);
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
    keys.disconnect();
  }
  return { name: c.name, differences };
}

/**
 * Waits until MONITOR delivered everything sent before now: SETs a marker and waits for it
 * (MONITOR reports commands in the order the server ran them).
 */
async function drainMonitor(keys: Redis, recorder: StatusRecorder, db: number): Promise<void> {
  const marker = crypto.randomUUID();
  await keys.set("conformance_monitor_marker", marker);
  await recorder.waitFor(db, "conformance_monitor_marker", marker, AbortSignal.timeout(10_000));
  await keys.del("conformance_monitor_marker");
}
