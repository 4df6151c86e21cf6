/**
 * The placement plan as `tm validate` shows it: an aligned text table in which each group
 * (`count:`) is one row, or JSON records, one per peer, with the keys peer, host, address, port,
 * image, listen_addr, bootstrap (and group for a group's peers). Pure.
 */
import type { PlacedPeer } from "../plan/placement.ts";
import { groupLabel } from "../plan/peer_groups.ts";

/** One record of `tm validate --json` and of the run record's `plan.json`. */
export interface PlanRecord {
  peer: string;
  host: string;
  address: string;
  port: number;
  image: string;
  listen_addr: string;
  /** The peers whose addresses it is sent at bootstrap (random picks included). */
  bootstrap: string[];
  /** The `count:` entry it belongs to; absent for a peer of its own. */
  group?: string;
}

export function planRecords(placed: readonly PlacedPeer[]): PlanRecord[] {
  return placed.map((p) => ({
    peer: p.peer,
    host: p.host,
    address: p.address,
    port: p.port,
    image: p.image,
    listen_addr: p.listenAddr,
    bootstrap: p.bootstrap ?? [],
    ...(p.group !== undefined ? { group: p.group } : {}),
  }));
}

const HEADERS = ["PEER", "HOST", "ADDRESS", "PORT", "IMAGE", "LISTEN ADDRESS"];

/** The column that is right-aligned. */
const PORT_COLUMN = 3;

/**
 * Columns padded to their widest cell, two spaces apart, the port right-aligned, no trailing
 * spaces; one header line, then one line per peer, except that a group's peers share one line at
 * its first peer's place: `node-[1-1000]`, its hosts and addresses (each once, in plan order),
 * the range of ports it uses on each host (each distinct range once) and the listen address with
 * `<port>` for the port. An empty plan is just the header.
 */
export function formatPlanTable(placed: readonly PlacedPeer[]): string {
  const rows = [HEADERS, ...foldGroups(placed)];
  const widths = HEADERS.map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === PORT_COLUMN ? cell.padStart(widths[column]) : cell.padEnd(widths[column])
        )
        .join("  ")
        .trimEnd()
    )
    .join("\n");
}

function foldGroups(placed: readonly PlacedPeer[]): string[][] {
  const members = new Map<string, PlacedPeer[]>();
  for (const p of placed) {
    if (p.group === undefined) continue;
    const group = members.get(p.group);
    if (group) group.push(p);
    else members.set(p.group, [p]);
  }
  const rows: string[][] = [];
  for (const p of placed) {
    if (p.group === undefined) {
      rows.push([p.peer, p.host, p.address, String(p.port), p.image, p.listenAddr]);
      continue;
    }
    const group = members.get(p.group);
    if (!group) continue; // its row is out already
    members.delete(p.group);
    const range = portRanges(group);
    rows.push([
      groupLabel(p.group, group.length),
      distinct(group.map((member) => member.host)),
      distinct(group.map((member) => member.address)),
      range,
      p.image,
      p.listenAddr.replace(`/udp/${p.port}/`, "/udp/<port>/"),
    ]);
  }
  return rows;
}

function distinct(values: readonly string[]): string {
  return [...new Set(values)].join(", ");
}

/** `10000-10499`: each host's lowest to highest port of the group, each distinct range once. */
function portRanges(group: readonly PlacedPeer[]): string {
  const byHost = new Map<number, { low: number; high: number }>();
  for (const { hostIndex, port } of group) {
    const range = byHost.get(hostIndex);
    if (!range) byHost.set(hostIndex, { low: port, high: port });
    else [range.low, range.high] = [Math.min(range.low, port), Math.max(range.high, port)];
  }
  return distinct(
    [...byHost.values()].map(({ low, high }) => low === high ? `${low}` : `${low}-${high}`),
  );
}
