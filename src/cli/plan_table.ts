/**
 * The placement plan as `tm validate` shows it: an aligned text table, or JSON records with
 * exactly the keys peer, host, address, port, image, listen_addr. Pure.
 */
import type { PlacedPeer } from "../plan/placement.ts";

/** One row of `tm validate --json`. */
export interface PlanRecord {
  peer: string;
  host: string;
  address: string;
  port: number;
  image: string;
  listen_addr: string;
}

export function planRecords(placed: readonly PlacedPeer[]): PlanRecord[] {
  return placed.map((p) => ({
    peer: p.peer,
    host: p.host,
    address: p.address,
    port: p.port,
    image: p.image,
    listen_addr: p.listenAddr,
  }));
}

const HEADERS = ["PEER", "HOST", "ADDRESS", "PORT", "IMAGE", "LISTEN ADDRESS"];

/**
 * Columns padded to their widest cell, two spaces apart, the port right-aligned, no trailing
 * spaces; one header line, then one line per peer. An empty plan is just the header.
 */
export function formatPlanTable(placed: readonly PlacedPeer[]): string {
  const rows = [
    HEADERS,
    ...placed.map((p) => [p.peer, p.host, p.address, String(p.port), p.image, p.listenAddr]),
  ];
  const widths = HEADERS.map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column])
        )
        .join("  ")
        .trimEnd()
    )
    .join("\n");
}
