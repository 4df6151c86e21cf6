/**
 * The permanent lines of the console (and the TUI's log panel): one `RunLine` becomes
 * `[  12.3s] alice < connected` with the peer name padded to the longest name in the plan and
 * coloured by `peerColor`.
 */
import { levelColor, peerColor } from "./peer_colors.ts";
import { formatStamp } from "../text/quantities.ts";
import type { RunLine } from "./run_state.ts";
import { severityOf } from "../text/severity.ts";
import type { Styled } from "./styled_text.ts";

/** Which lines a console shows. */
export interface LineFilter {
  /** Every peer log line and trace too (default false). */
  verbose: boolean;
  /** Progress milestones are shown as lines (plain console) rather than live bars (default false). */
  milestones: boolean;
  /** Orchestrator traces (default: `verbose`); the CLI sends them to stderr instead. */
  traces?: boolean;
}

export function isShown(line: RunLine, filter: LineFilter): boolean {
  if (line.kind === "trace") return filter.traces ?? filter.verbose;
  switch (line.audience) {
    case "always":
      return true;
    case "verbose":
      return filter.verbose;
    case "progress":
      return filter.milestones;
  }
}

/** Options of `formatLine`. */
export interface FormatOptions {
  /** Peer names are padded to this width (default: no padding). */
  nameWidth?: number;
  /** Include the `[  12.3s]` stamp (default true). */
  stamp?: boolean;
}

/** A line as styled text: stamp, padded peer name, then the body styled by its kind and level. */
export function formatLine(line: RunLine, options: FormatOptions = {}): Styled {
  const out: Styled = [];
  if (options.stamp ?? true) out.push({ text: formatStamp(line.t) + " ", dim: true });
  if (line.peer !== undefined) {
    out.push({ text: line.peer.padEnd(options.nameWidth ?? 0), color: peerColor(line.peer) });
    out.push({ text: " " });
  }
  out.push(...body(line));
  return out;
}

function body(line: RunLine): Styled {
  const severity = severityOf(line.level);
  switch (line.kind) {
    case "phase":
      return [{ text: `── ${line.text}`, bold: true }];
    case "status":
      return [{ text: `< ${line.text}`, color: severity === "warn" ? "yellow" : undefined }];
    case "command":
      return severity === "warn"
        ? [{ text: `✗ ${line.text}`, color: "yellow" }]
        : [{ text: `> ${line.text}`, color: "cyan" }];
    case "fault":
      return severity === "info"
        ? [{ text: `⚡ ${line.text}`, color: "magenta" }]
        : [{ text: `✗ ${line.text}`, color: severity === "warn" ? "yellow" : "red" }];
    case "log": {
      const color = levelColor(line.level);
      return [
        { text: line.level.padEnd(5), color, bold: severity === "error" },
        {
          text: " " + line.text,
          color: severity === "debug" || severity === "trace" ? "gray" : undefined,
        },
      ];
    }
    case "warning":
      return [{ text: "warning:", color: "yellow", bold: true }, { text: " " + line.text }];
    case "error":
      return [{ text: "error:", color: "red", bold: true }, { text: " " + line.text }];
    case "trace":
      return [{ text: `trace: ${line.text}`, color: "gray" }];
    case "output":
      return [{ text: `│ ${line.text}`, color: "gray" }];
    case "check":
      return severity === "error"
        ? [{ text: `✗ ${line.text}`, color: "red", bold: true }]
        : [{ text: `✓ ${line.text}`, color: "green" }];
    default:
      return [{ text: line.text, color: levelColor(line.level) }];
  }
}
