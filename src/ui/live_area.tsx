/**
 * The console's live area: what is going on right now, one row per activity of the current phase
 * (Redis, each host's SSH connection, pulls, a progress bar per image and host, each starting
 * peer, the timeline's next command, the peers shutdown waits for). Rows vanish with their phase.
 */
import { Box, Text } from "ink";
import Spinner from "ink-spinner";
import { peerColor } from "./peer_colors.ts";
import {
  eta,
  formatBytes,
  formatDuration,
  formatRate,
  progressBar,
  truncate,
} from "../text/quantities.ts";
import { batchDueAt, type RunState } from "./run_state.ts";
import type { Styled } from "./styled_text.ts";
import { StyledLine } from "./styled_view.tsx";

/** One row of the live area. */
export interface LiveItem {
  key: string;
  line: Styled;
}

/** Options of `liveItems`. */
export interface LiveOptions {
  /** Terminal width; progress bars use what is left (default 80). */
  columns?: number;
  /** Most peer rows while starting or stopping; the rest are counted (default 8). */
  maxPeerRows?: number;
}

/** The rows of the live area for `state` at run time `now`. Pure. */
export function liveItems(state: RunState, now: number, options: LiveOptions = {}): LiveItem[] {
  if (state.finished) return [];
  const columns = options.columns ?? 80;
  const maxPeerRows = options.maxPeerRows ?? 8;
  const since = (t: number): Styled[number] => ({
    text: ` ${formatDuration(now - t)}`,
    dim: true,
  });
  const items: LiveItem[] = [];
  const peerRows = (
    prefix: string,
    names: { name: string; since: number; text: string }[],
    rest: (count: number) => string,
  ) => {
    for (const p of names.slice(0, maxPeerRows)) {
      items.push({
        key: `${prefix}-${p.name}`,
        line: [
          { text: p.name.padEnd(state.nameWidth), color: peerColor(p.name) },
          { text: ` ${p.text}` },
          since(p.since),
        ],
      });
    }
    if (names.length > maxPeerRows) {
      items.push({ key: `${prefix}-more`, line: [{ text: rest(names.length - maxPeerRows) }] });
    }
  };

  switch (state.phase) {
    case "redis":
      if (!state.redisUrl) {
        items.push({
          key: "redis",
          line: [{ text: "getting Redis ready" }, since(state.phaseSince)],
        });
      }
      break;
    case "hosts":
      for (const host of state.hosts.filter((h) => h.state === "connecting")) {
        items.push({
          key: `host-${host.name}`,
          line: [{ text: `connecting to ${host.name} (${host.address})` }, since(host.since)],
        });
      }
      break;
    case "images": {
      for (const pull of state.pulls.filter((p) => p.state === "started")) {
        items.push({
          key: `pull-${pull.image}`,
          line: [{ text: `pulling ${pull.image}` }, since(pull.since)],
        });
      }
      const active = state.transfers.filter((x) => x.state === "started" || x.state === "progress");
      const labelWidth = Math.max(0, ...active.map((x) => `${x.image} → ${x.host}`.length));
      const rows = active.map((transfer) => {
        const left = eta(transfer.bytes, transfer.total, transfer.rate);
        const amount = transfer.total
          ? `${formatBytes(transfer.bytes)} / ${formatBytes(transfer.total)}`
          : formatBytes(transfer.bytes);
        const stats = `  ${amount}  ${formatRate(transfer.rate)}${
          left !== undefined ? `  ETA ${formatDuration(left)}` : ""
        }`;
        return { transfer, stats };
      });
      const statsWidth = Math.max(0, ...rows.map((r) => r.stats.length));
      // spinner 2 + "ship " 5 + label + " " + bar + " 100%" 5 + stats, one column to spare
      const barWidth = Math.max(8, Math.min(30, columns - 14 - labelWidth - statsWidth));
      for (const { transfer, stats } of rows) {
        const fraction = transfer.total ? transfer.bytes / transfer.total : 0;
        items.push({
          key: `ship-${transfer.image}-${transfer.host}`,
          line: [
            { text: `ship ${`${transfer.image} → ${transfer.host}`.padEnd(labelWidth)} ` },
            { text: progressBar(fraction, barWidth), color: "cyan" },
            { text: ` ${Math.floor(fraction * 100)}%`.padStart(5) },
            { text: stats, dim: true },
          ],
        });
      }
      break;
    }
    case "starting":
      peerRows(
        "start",
        state.peers.filter((p) => p.state === "pending" || p.state === "starting").map((p) => ({
          name: p.name,
          since: p.since,
          text: p.state === "pending" ? `waiting to start on ${p.host}` : `starting on ${p.host}`,
        })),
        (n) => `… and ${n} more peers starting`,
      );
      break;
    case "bootstrap":
      items.push({ key: "bootstrap", line: [{ text: "bootstrapping" }, since(state.phaseSince)] });
      break;
    case "timeline": {
      const sent = state.batches.slice(0, state.nextBatch).reduce(
        (n, b) => n + b.entries.length,
        0,
      );
      const total = state.batches.reduce((n, b) => n + b.entries.length, 0);
      const next = state.batches[state.nextBatch];
      const line: Styled = [{ text: `timeline ${sent}/${total} sent` }];
      if (next) {
        const due = batchDueAt(state, next);
        const entry = next.entries.find((e) => e.sentAt === undefined) ?? next.entries[0];
        line.push({ text: " · next " });
        line.push({ text: entry.peer, color: peerColor(entry.peer) });
        line.push({
          text: ` > ${truncate(entry.command, Math.max(10, columns - 60))}${
            next.entries.length > 1 ? ` (+${next.entries.length - 1})` : ""
          }`,
        });
        if (due !== undefined) {
          line.push({
            text: due > now ? ` in ${formatDuration(due - now)}` : " now",
            dim: true,
          });
        }
      }
      items.push({ key: "timeline", line });
      break;
    }
    case "shutdown":
      peerRows(
        "stop",
        state.peers.filter((p) => p.state !== "exited" && p.status !== "stopped").map((p) => ({
          name: p.name,
          since: p.since,
          text: `stopping (${p.status ?? p.state})`,
        })),
        (n) => `… and ${n} more peers stopping`,
      );
      break;
    case "cleanup":
      items.push({ key: "cleanup", line: [{ text: "cleaning up" }, since(state.phaseSince)] });
      break;
  }
  for (const host of state.hosts.filter((h) => h.state === "lost")) {
    items.push({
      key: `lost-${host.name}`,
      line: [
        { text: `reconnecting to ${host.name} (${host.address})`, color: "yellow" },
        since(host.since),
      ],
    });
  }
  return items;
}

export interface LiveAreaProps {
  items: LiveItem[];
  color: boolean;
}

/** A spinner and a line per item; nothing when there are no items. */
export function LiveArea({ items, color }: LiveAreaProps) {
  if (items.length === 0) return null;
  return (
    <Box flexDirection="column">
      {items.map((item) => (
        <Box key={item.key}>
          <Text color={color ? "cyan" : undefined}>
            <Spinner type="dots" />
            {" "}
          </Text>
          <StyledLine line={item.line} color={color} wrap="truncate-end" />
        </Box>
      ))}
    </Box>
  );
}
