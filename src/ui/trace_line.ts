/**
 * The `--verbose` trace on stderr: one stamped line per orchestrator trace event. A multi-line
 * trace (a stack trace) continues on indented lines, so no line of it can pass for a stamped one;
 * control characters inside each line are escaped (the trace quotes peers and hosts).
 */
import { escapeControls } from "../text/terminal_text.ts";

/** `[  12.3s] message\n`, continuation lines indented under the message. */
export function traceLine(t: number, message: string): string {
  const stamp = `[${(t / 1000).toFixed(1).padStart(7)}s]`;
  const text = message.split(/\r?\n/).map(escapeControls).join("\n" + " ".repeat(stamp.length + 1));
  return `${stamp} ${text}\n`;
}
