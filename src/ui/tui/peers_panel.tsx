/**
 * TUI peers panel: name, host, port, status coloured by state, time in state, last log line;
 * the selected peer highlighted, the rows scrolled to keep it visible. When the peers do not fit,
 * a first row counts them by status ("300 peers: 298 connected, 2 starting").
 */
import { Text } from "ink";
import { levelColor, peerColor, statusColor } from "../peer_colors.ts";
import { fit, formatAge } from "../../text/quantities.ts";
import type { PeerView, RunState } from "../run_state.ts";
import { Panel } from "./panel.tsx";

export interface PeersPanelProps {
  state: RunState;
  now: number;
  selected: number;
  /** The log filter is on for the selected peer. */
  filtering: boolean;
  width: number;
  height: number;
  color: boolean;
}

/** What the status cell says: the status, or what the orchestrator knows, plus restarts. */
export function statusLabel(peer: PeerView): string {
  let label = peer.status ?? (peer.state === "starting" ? "starting…" : "pending");
  if (peer.exit && !peer.exit.expected) label = `exited ${peer.exit.code ?? "?"}`;
  else if (peer.exit && peer.status !== "stopped") label = "exited";
  return peer.restarts > 0 ? `${label} ↻${peer.restarts}` : label;
}

/** First visible row so that `selected` stays in a window of `rows`. */
export function scrollWindow(selected: number, count: number, rows: number): number {
  if (count <= rows) return 0;
  return Math.max(0, Math.min(count - rows, selected - Math.floor(rows / 2)));
}

/** The peers counted by status, most common first: "300 peers: 298 connected, 2 starting". */
export function peerCounts(peers: readonly PeerView[]): string {
  const counts = new Map<string, number>();
  for (const peer of peers) {
    const label = statusLabel({ ...peer, restarts: 0 }).replace(/…$/, "");
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([label, n]) => `${n} ${label}`);
  return `${peers.length} peer${peers.length === 1 ? "" : "s"}: ${parts.join(", ")}`;
}

export function PeersPanel(props: PeersPanelProps) {
  const { state, now, selected, filtering, width, height, color } = props;
  // The column header takes a row, and the counts another when the peers do not fit.
  const overflow = state.peers.length > height - 2;
  const rows = Math.max(0, height - 2 - (overflow ? 1 : 0));
  const first = scrollWindow(selected, state.peers.length, rows);
  const visible = state.peers.slice(first, first + rows);
  const nameW = Math.max(4, state.nameWidth);
  const hostW = Math.max(4, ...state.peers.map((p) => p.host.length));
  const statusW = Math.max(12, ...visible.map((p) => statusLabel(p).length));
  const fixed = 2 + nameW + 1 + hostW + 1 + 5 + 1 + statusW + 1 + 4 + 1;
  const logW = Math.max(0, width - fixed);
  const running = state.peers.filter((p) => p.state === "running" && p.status !== "stopped");
  const note = `${running.length}/${state.peers.length} up` +
    (overflow ? ` · ${first + 1}-${first + visible.length}` : "");
  return (
    <Panel
      title={`Peers (${state.peers.length})`}
      note={note}
      width={width}
      height={height}
      color={color}
    >
      {overflow && <Text wrap="truncate-end">{"  " + peerCounts(state.peers)}</Text>}
      <Text wrap="truncate-end" dimColor={color}>
        {"  " + fit("name", nameW) + " " + fit("host", hostW) + " " + fit("port", 5) + " " +
          fit("status", statusW) + " " + fit("time", 4) + " " + "last log"}
      </Text>
      {visible.map((peer, i) => {
        const index = first + i;
        const isSelected = index === selected;
        const marker = isSelected ? (filtering ? "▶ " : "> ") : "  ";
        const last = peer.lastLog;
        return (
          <Text key={peer.name} wrap="truncate-end" inverse={color && isSelected}>
            <Text bold={isSelected}>{marker}</Text>
            <Text color={color ? peerColor(peer.name) : undefined}>{fit(peer.name, nameW)}</Text>
            {" " + fit(peer.host, hostW) + " " + fit(String(peer.port || ""), 5) + " "}
            <Text color={color ? statusColor(peer.status, peer.state) : undefined}>
              {fit(statusLabel(peer), statusW)}
            </Text>
            <Text dimColor={color}>{" " + fit(formatAge(now - peer.since), 4) + " "}</Text>
            <Text color={color && last ? levelColor(last.level) : undefined}>
              {last ? fit(last.message, logW) : fit("", logW)}
            </Text>
          </Text>
        );
      })}
    </Panel>
  );
}
