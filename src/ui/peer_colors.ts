/**
 * Colours that mean the same everywhere: a stable colour per peer name (a hash of the name, so a
 * peer keeps its colour across runs, the console and the TUI) and a colour per peer status.
 */
import type { PeerLifecycle } from "./run_state.ts";
import type { Color } from "./styled_text.ts";
import { severityOf } from "../text/severity.ts";

/**
 * 256-colour palette, distinguishable on dark and light backgrounds; no pure red (errors) and no
 * gray (secondary text).
 */
export const PEER_PALETTE: readonly Color[] = [
  "ansi256(39)", // blue
  "ansi256(208)", // orange
  "ansi256(141)", // purple
  "ansi256(42)", // green
  "ansi256(214)", // gold
  "ansi256(45)", // cyan
  "ansi256(205)", // pink
  "ansi256(112)", // lime
  "ansi256(33)", // deep blue
  "ansi256(173)", // salmon
  "ansi256(81)", // sky
  "ansi256(178)", // mustard
  "ansi256(170)", // orchid
  "ansi256(36)", // teal
];

/** The colour of a peer name: FNV-1a of the name, modulo the palette. */
export function peerColor(name: string): Color {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return PEER_PALETTE[hash % PEER_PALETTE.length];
}

/** The colour of a peer's status by what it means for the test. */
export function statusColor(status: string | null, state: PeerLifecycle = "running"): Color {
  if (state === "exited") return status === "stopped" ? "gray" : "red";
  if (status === null) return state === "starting" ? "yellow" : "gray";
  switch (status) {
    case "started":
      return "cyan";
    case "connected":
      return "green";
    case "connecting":
    case "disconnecting":
      return "yellow";
    case "disconnected":
      return "magenta";
    case "restarting":
      return "blue";
    case "stopped":
      return "gray";
    default:
      return "white";
  }
}

/** The colour of a log level. */
export function levelColor(level: string): Color | undefined {
  switch (severityOf(level)) {
    case "error":
      return "red";
    case "warn":
      return "yellow";
    case "debug":
    case "trace":
      return "gray";
    default:
      return undefined;
  }
}
