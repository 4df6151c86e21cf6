/**
 * How tm words each engine event: the one owner of the sentences the console, the TUI and the log
 * file show, and of how severe each event is (what `log_level` filters).
 *
 * `eventSentence` is what happened, in the words every view uses (`host a connected (10.0.0.2,
 * 31 ms)`); the views add their markers (`<`, `>`, `──`) and time stamps. `eventLines` is what
 * the log file writes: the same sentence, with facts only the log keeps (run id, previous
 * status, due and late times), plus the lines that list a run's plan, a crashed peer's output
 * and the final summary.
 */
import { checkStanding, FIXED_HINT, knownFailureText } from "../engine/known_failures.ts";
import type { EngineEvent, EventOf, FaultAction, Phase } from "../engine/events.ts";
import { faultKind } from "../faults/kinds.ts";
import { formatBytes, formatDuration, plural } from "./quantities.ts";
import { type Severity, severityOf } from "./severity.ts";

/** One line of the log file. */
export interface EventLine {
  /** The peer the line is about, or `tm` for the run as a whole. */
  source: string;
  /** Upper-case tag of tm's own lines, or a peer's log level as the peer sent it. */
  tag: string;
  text: string;
}

/** One-line descriptions of the phases, as the views announce them. */
export const PHASE_TITLES: Record<Phase, string> = {
  redis: "getting Redis ready",
  hosts: "connecting to hosts",
  images: "pulling and shipping images",
  starting: "starting peers",
  bootstrap: "bootstrapping peers",
  timeline: "running the timeline",
  shutdown: "shutting down peers",
  cleanup: "cleaning up",
};

/** `ship <image> → <host>`: how every line about shipping an image to a host begins. */
export function shipLabel(image: string, host: string): string {
  return `ship ${image} → ${host}`;
}

/**
 * The command that removes what cleanup left on a host: the runtime's (`docker service rm …` for
 * a swarm's services), else `docker rm -f` of the containers.
 */
export function removalCommand(left: { containers: readonly string[]; remove?: string }): string {
  return left.remove ?? `docker rm -f ${left.containers.join(" ")}`;
}

/**
 * What happened, in one line, without time, peer name or marker; `""` for `run-finished`, which
 * the views show as their summary.
 */
export function eventSentence(event: EngineEvent): string {
  switch (event.type) {
    case "run-started": {
      const hosts = new Set(event.plan.map((p) => p.host)).size;
      return `test ${event.test}: ${plural(event.plan.length, "peer")} on ${
        plural(hosts, "host")
      }, ${plural(event.timeline.length, "timeline command")}${
        event.faults ? `, ${plural(event.faults.length, "fault")}` : ""
      }${event.seed !== undefined ? `, seed ${event.seed}` : ""}${
        event.chaos ? `; ${chaosSentence(event.chaos)}` : ""
      }`;
    }
    case "phase":
      return `${event.phase}: ${PHASE_TITLES[event.phase]}`;
    case "redis-ready":
      return `redis ready at ${event.url}`;
    case "host-connecting":
      return `host ${event.host}: connecting to ${event.address}`;
    case "host-connected":
      return `host ${event.host} connected (${event.address}, ${event.ms} ms)`;
    case "host-ready":
      return `host ${event.host} ready: Docker ${event.docker}`;
    case "host-lost":
      return `host ${event.host} lost: ${event.reason}; reconnecting (for up to ${
        formatDuration(event.giveUpMs)
      })`;
    case "host-reconnected":
      return `host ${event.host} reconnected after ${formatDuration(event.outageMs)} (${
        plural(event.attempts, "attempt")
      })`;
    case "check-decided": {
      const { check } = event;
      const standing = checkStanding(check);
      const outcome = standing === "known-failure"
        ? `failed (${knownFailureText(check)})`
        : standing === "fixed"
        ? `passed (${FIXED_HINT}: ${check.known})`
        : check.passed
        ? "passed"
        : "FAILED";
      return `check #${check.index} ${outcome} at ${
        formatTimelineTime(check.atMs)
      }: ${check.description}`;
    }
    case "left-behind":
      return `left on ${event.host}: ${event.containers.join(", ")} (${event.reason}); ` +
        `remove with: ${removalCommand(event)}`;
    case "image-pull":
      return `pull ${event.image}: ${event.state}${suffix(event.detail)}`;
    case "image-transfer":
      return transferSentence(event);
    case "image-skipped":
      return `${event.image} on ${event.host}: already held (${event.reason})`;
    case "image-shipped":
      return shippedSentence(event);
    case "peer-starting":
      return `starting on ${event.host}`;
    case "peer-launched":
      return `container launched on ${event.host}${event.id ? ` (${event.id.slice(0, 12)})` : ""}`;
    case "peer-status":
      return `${event.status}${event.address ? ` ${event.address}` : ""}`;
    case "peer-log":
      return event.message;
    case "peer-exited":
      return `exited with ${event.code === null ? "an unknown code" : `code ${event.code}`}${
        event.expected ? "" : " unexpectedly"
      }`;
    case "peer-output":
      return `its last ${event.output.length} line${
        event.output.length === 1 ? "" : "s"
      } of output`;
    case "command-sent":
      return event.command;
    case "commands-acknowledged":
      return `${event.indexes.map((index) => `#${index}`).join(", ")} (due ${
        (event.dueMs / 1_000).toFixed(3)
      }s) acknowledged by Redis ${event.ackLateMs.toFixed(2)} ms late`;
    case "command-undeliverable":
      return `${event.command}: not delivered (${event.reason})`;
    case "manual-entry":
      return `manual entry #${event.entry.index} at ${
        formatTimelineTime(event.entry.time * 1_000)
      } (typed by hand): ${
        "fault" in event.entry
          ? `fault ${faultSentence(event.entry)}`
          : `${event.entry.peer} > ${event.entry.command}`
      }`;
    case "fault-applied":
      return `fault ${faultSentence(event.action)}${event.detail ? ` (${event.detail})` : ""}`;
    case "fault-failed":
      return `fault ${faultSentence(event.action)}${
        event.detail ? ` (${event.detail})` : ""
      } failed: ${event.reason}${event.targetGone ? "; the run goes on" : ""}`;
    case "warning":
    case "error":
      return event.host ? `${event.host}: ${event.message}` : event.message;
    case "trace":
      return event.message;
    case "run-finished":
      return "";
  }
}

/**
 * How severe an event is, on the scale `log_level` filters: tm's failures `error`, what went
 * wrong but was handled `warn`, the run's progress `info`, what tm is about to do `debug`,
 * per-chunk transfer progress `trace`. A peer's log line has its level's severity; `trace`
 * events carry theirs (default `info`).
 */
export function eventSeverity(event: EngineEvent): Severity {
  switch (event.type) {
    case "error":
    case "left-behind":
      return "error";
    case "check-decided":
      return event.check.passed ? "info" : event.check.known === undefined ? "error" : "warn";
    case "warning":
    case "host-lost":
    case "command-undeliverable":
      return "warn";
    case "fault-failed":
      return event.targetGone ? "warn" : "error";
    case "image-pull":
      return event.state === "failed" ? "error" : "info";
    case "image-transfer":
      return event.state === "failed" ? "error" : event.state === "progress" ? "trace" : "info";
    case "peer-status":
      return event.status === "restarting" ? "warn" : "info";
    case "peer-exited":
      return event.expected ? "info" : "error";
    case "peer-log":
      return severityOf(event.level);
    case "host-connecting":
    case "host-ready":
    case "peer-starting":
      return "debug";
    case "trace":
      return event.level ?? "info";
    default:
      return "info";
  }
}

/** The log file's lines for an event: usually one; a run's start and end and a crash take more. */
export function eventLines(event: EngineEvent): EventLine[] {
  const sentence = eventSentence(event);
  const tm = (tag: string, text = sentence): EventLine[] => [{ source: "tm", tag, text }];
  const peer = (source: string, tag: string, text = sentence): EventLine[] => [
    { source, tag, text },
  ];
  switch (event.type) {
    case "run-started":
      return [
        ...tm(
          "RUN",
          `${sentence}; run ${event.runId}${event.logFile ? `, log file ${event.logFile}` : ""}${
            event.recordDir ? `, run record ${event.recordDir}` : ""
          }`,
        ),
        ...event.plan.flatMap((p) =>
          peer(p.peer, "PLACED", `on ${p.host} (${p.address}) port ${p.port}, image ${p.image}`)
        ),
        ...event.timeline.flatMap((c) =>
          peer(c.peer, "PLANNED", `#${c.index} at ${c.time}s: ${c.command}`)
        ),
        ...(event.faults ?? []).flatMap((f) =>
          tm("PLANNED", `#${f.index} at ${f.time}s: fault ${faultSentence(f)}`)
        ),
      ];
    case "phase":
      return tm("PHASE");
    case "redis-ready":
      return tm("REDIS");
    case "host-connecting":
    case "host-connected":
    case "host-ready":
    case "host-reconnected":
      return tm("HOST");
    case "host-lost":
      return tm("LOST");
    case "left-behind":
      return tm("LEFT");
    case "check-decided":
      return [
        ...tm("CHECK"),
        ...(event.check.evidence ?? []).map((text) => ({ source: "tm", tag: "EVIDENCE", text })),
      ];
    case "image-pull":
    case "image-transfer":
    case "image-skipped":
    case "image-shipped":
      return tm("IMAGE");
    case "peer-starting":
    case "peer-launched":
      return peer(event.peer, "START");
    case "peer-status":
      return peer(event.peer, "STATUS", `${sentence} (was ${event.previous ?? "none"})`);
    case "peer-log":
      return peer(event.peer, event.level);
    case "peer-exited":
      return [
        ...peer(event.peer, event.expected ? "EXIT" : "CRASH"),
        ...(event.output ?? []).flatMap((line) => peer(event.peer, "OUTPUT", line)),
      ];
    case "peer-output":
      return event.output.flatMap((line) => peer(event.peer, "OUTPUT", line));
    case "command-sent":
      return peer(event.peer, "SENT", `${sentence}${sendTiming(event)}`);
    case "commands-acknowledged":
      return tm("ACKED");
    case "command-undeliverable":
      return peer(event.peer, "UNSENT");
    case "manual-entry":
      return tm("MANUAL");
    case "fault-applied":
      return tm("FAULT", `${sentence}${faultTiming(event)}`);
    case "fault-failed":
      return tm("UNDONE", `${sentence}${faultTiming(event)}`);
    case "warning":
    case "error": {
      const tag = event.type === "warning" ? "WARN" : "ERROR";
      // The source column names the peer; the host stays in the sentence.
      return event.peer !== undefined ? peer(event.peer, tag) : tm(tag);
    }
    case "trace":
      return tm("TRACE");
    case "run-finished":
      return [
        ...tm(
          "RESULT",
          `${event.verdict} (exit ${event.exitCode}) after ${
            (event.durationMs / 1_000).toFixed(3)
          }s${event.reason ? `: ${event.reason}` : ""}`,
        ),
        ...event.peers.flatMap((p) =>
          peer(
            p.peer,
            "SUMMARY",
            `on ${p.host}: status ${p.status ?? "none"}, ${plural(p.restarts, "restart")}, ${
              plural(p.warnings, "warning")
            }, ${plural(p.errors, "error")}${
              p.exitCode !== undefined ? `, exit code ${p.exitCode ?? "unknown"}` : ""
            }${p.failure !== undefined ? `, reported failed${suffix(p.failure)}` : ""}`,
          )
        ),
      ];
    default: {
      // An event type added later: keep it rather than drop it.
      const unknown = event as { type: string };
      return tm("EVENT", JSON.stringify(unknown));
    }
  }
}

/** `5.0 MB of 20.1 MB` and the like, per transfer state. */
function transferSentence(event: EventOf<"image-transfer">): string {
  const label = shipLabel(event.image, event.host);
  const total = event.total !== undefined ? ` of ${formatBytes(event.total)}` : "";
  switch (event.state) {
    case "started":
      return `${label}: started${
        event.total !== undefined ? ` (${formatBytes(event.total)})` : ""
      }`;
    case "progress":
      return `${label}: ${formatBytes(event.bytes)}${total}`;
    case "done":
      return `${label}: done, ${formatBytes(event.bytes)}`;
    case "failed":
      return `${label}: failed after ${formatBytes(event.bytes)}${total}${suffix(event.detail)}`;
  }
}

/**
 * What chaos drew and how to draw it again: `chaos drew 14 faults from seed 8812 (rerun with
 * seed: 8812)`; entries with a seed of their own are listed with it.
 */
export function chaosSentence(chaos: readonly { seed: number; faults: number }[]): string {
  const seeds = [...new Set(chaos.map(({ seed }) => seed))];
  const faults = chaos.reduce((sum, { faults }) => sum + faults, 0);
  return `chaos drew ${plural(faults, "fault")} from seed ${seeds.join(", ")} (rerun with ` +
    `${seeds.length === 1 ? `seed: ${seeds[0]}` : "each entry's seed"})`;
}

/**
 * What a shipment did, archive bytes compared with archive bytes: `shipped peer:latest to B:
 * 1.1 MB of a 106.0 MB archive (3 of 4 layers held), 400 ms`, or `shipped peer:latest to B:
 * 106.0 MB archive, whole image: B's containerd store takes no partial archive, 2.1s`.
 */
function shippedSentence(event: EventOf<"image-shipped">): string {
  const whole = event.whole !== undefined;
  const sent = whole && event.sent === event.total
    ? `${formatBytes(event.total)} archive`
    : `${formatBytes(event.sent)} of a ${formatBytes(event.total)} archive`;
  const how = whole
    ? `, whole image: ${event.whole}`
    : ` (${event.held} of ${event.layers} layers held)`;
  return `shipped ${event.image} to ${event.host}: ${sent}${how}, ${formatDuration(event.ms)}`;
}

/** How many peer names a fault's sentence lists before `and N more`. */
const FAULT_PEERS_SHOWN = 4;

/**
 * What a fault does, in one line: `delay 200 ms ± 20 ms on alice`, `loss 5% on bob`,
 * `partition alice, carol | bob, dave`, `pause carol`.
 */
export function faultSentence(action: FaultAction): string {
  return faultKind(action.fault).sentence(action, peerList(action.peers), peerList);
}

/** `alice, bob` or, past FAULT_PEERS_SHOWN names, `alice, bob, carol, dave and 296 more`. */
function peerList(peers: readonly string[]): string {
  if (peers.length <= FAULT_PEERS_SHOWN) return peers.join(", ");
  return `${peers.slice(0, FAULT_PEERS_SHOWN).join(", ")} and ${
    peers.length - FAULT_PEERS_SHOWN
  } more`;
}

/** ` (#3 due 5.000s late 12.30 ms)` for a timeline fault; `""` for the heal guarantee. */
function faultTiming(event: EventOf<"fault-applied"> | EventOf<"fault-failed">): string {
  if (event.index === undefined) return "";
  const late = event.type === "fault-applied" && event.lateMs !== undefined
    ? ` late ${event.lateMs.toFixed(2)} ms`
    : "";
  return ` (#${event.index}${
    event.dueMs !== undefined ? ` due ${(event.dueMs / 1_000).toFixed(3)}s` : ""
  }${late})`;
}

/** ` (#3 due 1.000s late 0.12 ms)` for a timeline command; `""` for bootstrap and shutdown. */
function sendTiming(event: EventOf<"command-sent">): string {
  if (event.index === undefined) return "";
  return ` (#${event.index}${
    event.dueMs !== undefined ? ` due ${(event.dueMs / 1_000).toFixed(3)}s` : ""
  }${event.lateMs !== undefined ? ` late ${event.lateMs.toFixed(2)} ms` : ""})`;
}

/**
 * A time on the timeline clock (`commands[].time`'s), for checks: `t=12.3s`, `t=-0.4s` before
 * the timeline started.
 */
export function formatTimelineTime(ms: number): string {
  const seconds = (ms / 1_000).toFixed(1);
  return `t=${seconds === "-0.0" ? "0.0" : seconds}s`;
}

function suffix(detail: string | undefined): string {
  return detail ? `: ${detail}` : "";
}
