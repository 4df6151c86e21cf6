/**
 * Peer groups: a peer entry with `count: N` stands for the peers `<name>-1` ... `<name>-N`
 * (docs/config.md, "Groups"). The one owner of how a group's members are named and how a group
 * is written back in a message or the plan table (`node-[1-1000]`). Pure.
 */

/** What naming a group's members needs of a peer entry. */
export interface GroupEntry {
  name: string;
  count?: number;
}

/** The name of member `index` (1-based) of group `group`. */
export function memberName(group: string, index: number): string {
  return `${group}-${index}`;
}

/** The peers an entry stands for: its own name, or `<name>-1` ... `<name>-N` with `count`. */
export function memberNames(entry: GroupEntry): string[] {
  if (entry.count === undefined) return [entry.name];
  return Array.from({ length: entry.count }, (_, i) => memberName(entry.name, i + 1));
}

/** How a group is written for people: `node-[1-1000]`, `node-1` for a group of one. */
export function groupLabel(group: string, count: number): string {
  return count === 1 ? memberName(group, 1) : `${group}-[1-${count}]`;
}

/** How many entries `describePeers` names before it says how many more there are. */
const DESCRIBED_ENTRIES = 12;

/** The entries' peers in words, each group folded: `alice, bob, node-[1-1000]`. */
export function describePeers(entries: readonly GroupEntry[]): string {
  const named = entries.slice(0, DESCRIBED_ENTRIES).map((entry) =>
    entry.count === undefined ? entry.name : groupLabel(entry.name, entry.count)
  );
  const more = entries.length - named.length;
  return named.join(", ") + (more > 0 ? ` and ${more} more` : "") ||
    "none: the test has no peers";
}
