/**
 * Every fault kind tm knows (docs/config.md, "Faults"), in the order the docs list them: the one
 * registry the schema, validation, the engine, the runtimes' preflight and the text read. A new
 * kind is a file in `kinds/` and a line here.
 */
import type { FaultKind, FaultTool } from "./fault_kind.ts";
import { delay } from "./kinds/delay.ts";
import { heal } from "./kinds/heal.ts";
import { kill } from "./kinds/kill.ts";
import { loss } from "./kinds/loss.ts";
import { partition } from "./kinds/partition.ts";
import { pause } from "./kinds/pause.ts";
import { rate } from "./kinds/rate.ts";
import { resume } from "./kinds/resume.ts";
import { start } from "./kinds/start.ts";

export const FAULT_KINDS = [
  delay,
  loss,
  rate,
  partition,
  heal,
  pause,
  resume,
  kill,
  start,
] as const;

/** The name of a fault kind: `delay`, `pause`, ... */
export type FaultName = typeof FAULT_KINDS[number]["name"];

/** The fault names, in the docs' order. */
export const FAULT_NAMES: readonly FaultName[] = FAULT_KINDS.map((kind) => kind.name);

const BY_NAME: ReadonlyMap<string, FaultKind> = new Map(
  FAULT_KINDS.map((kind) => [kind.name, kind as unknown as FaultKind]),
);

/** The record of a fault kind. */
export function faultKind(name: FaultName): FaultKind {
  return BY_NAME.get(name)!;
}

/** The faults done on a peer's network (`heal` undoes them); the others act on its container. */
export const NETWORK_FAULTS: ReadonlySet<FaultName> = new Set(
  FAULT_KINDS.filter((kind) => kind.acts === "network").map((kind) => kind.name),
);

/** Whether the runtime's host needs `tool` for `fault` (its preflight checks it). */
export function needsTool(fault: FaultName, tool: FaultTool): boolean {
  return faultKind(fault).tools.includes(tool);
}

/** The schemas of every kind's entry, as a tuple (what `z.discriminatedUnion` takes). */
export const FAULT_SCHEMAS = FAULT_KINDS.map((kind) => kind.schema) as unknown as SchemasOf<
  typeof FAULT_KINDS
>;

/** The tuple of the kinds' schema types (a mapped tuple needs a type parameter to stay one). */
type SchemasOf<Kinds extends readonly unknown[]> = {
  [I in keyof Kinds]: Kinds[I] extends { schema: infer S } ? S : never;
};
