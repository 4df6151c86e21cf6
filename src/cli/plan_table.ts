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
 * its port range and `/ip4/0.0.0.0/udp/<first>-<last>/quic-v1`. An empty plan is just the header.
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
    const ports = group.map((member) => member.port);
    const [low, high] = [Math.min(...ports), Math.max(...ports)];
    const range = low === high ? String(low) : `${low}-${high}`;
    rows.push([
      groupLabel(p.group, group.length),
      distinct(group.map((member) => member.host)),
      distinct(group.map((member) => member.address)),
      range,
      p.image,
      p.listenAddr.replace(`/udp/${p.port}/`, `/udp/${range}/`),
    ]);
  }
  return rows;
}

function distinct(values: readonly string[]): string {
  return [...new Set(values)].join(", ");
}
