/**
 * A timeline entry typed by hand while a run goes (docs/config.md, "Steering a live run"): the
 * TUI's `:` prompt reads `send <peer> <command>` or `fault <kind> [targets] [key=value ...]`,
 * and that becomes the entry the test file would hold (`{peer, command}` or `{fault, peer |
 * peers | groups, ...}`), due at the moment it was entered. It is validated by the loader
 * itself (`parseConfig`), on the test's own config with the entry appended to its timeline:
 * the same schema, the same cross checks (known peers, `resume` only after `pause`, ...) and the
 * same messages as in a file. Pure, apart from what it hands the loader.
 */
import { stringify } from "yaml";
import { ConfigError } from "./config_error.ts";
import { parseConfig } from "./load.ts";
import type { Config, TimelineEntryConfig } from "./schema.ts";
import { FAULT_KINDS, FAULT_NAMES } from "../faults/kinds.ts";

/** The `key=value` parameters each fault kind takes (beside its targets). */
const FAULT_PARAMETERS: Record<string, readonly string[]> = Object.fromEntries(
  FAULT_KINDS.map((kind) => [
    kind.name,
    Object.keys(kind.schema.shape).filter((key) =>
      !["time", "fault", "peer", "peers", "groups"].includes(key)
    ),
  ]),
);

/** What the prompt's text says, or why it cannot be read. */
export type ManualParse =
  | { ok: true; entry: Record<string, unknown> }
  | { ok: false; message: string };

/** How the prompt is written, for messages and the help. */
export const MANUAL_SYNTAX =
  "send <peer> <command> | fault <kind> [<peer> | <a>,<b> | [a,b] | *] [key=value ...] | " +
  "fault partition [a,b] [c]";

/**
 * Reads the prompt's text into the entry a test file would hold, without its `time`.
 * Targets: a name (`peer:`), `*` or a list (`peers:`); `partition` takes bracketed groups.
 */
export function parseManualEntry(text: string): ManualParse {
  const words = tokens(text.trim());
  const [verb, ...rest] = words;
  if (verb === "send") {
    const [peer, ...command] = rest;
    if (!peer || command.length === 0) {
      return { ok: false, message: "send needs a peer and a command: send <peer> <command>" };
    }
    return { ok: true, entry: { peer, command: command.join(" ") } };
  }
  if (verb === "fault") {
    const [fault, ...args] = rest;
    if (!fault) {
      return { ok: false, message: `fault needs a kind: one of ${FAULT_NAMES.join(", ")}` };
    }
    if (fault === "chaos") {
      return {
        ok: false,
        message: "chaos is drawn when the test file is loaded; steer with the faults themselves",
      };
    }
    if (fault === "partition") {
      return { ok: true, entry: { fault, groups: args.map(listOf) } };
    }
    const entry: Record<string, unknown> = { fault };
    for (const arg of args) {
      const pair = /^([A-Za-z_]+)=(.*)$/.exec(arg);
      if (pair) {
        entry[pair[1]] = pair[2] !== "" && Number.isFinite(Number(pair[2]))
          ? Number(pair[2])
          : pair[2];
      } else if ("peer" in entry || "peers" in entry) {
        return { ok: false, message: `"${arg}": give the targets once, then key=value pairs` };
      } else if (arg === "*") entry.peers = "*";
      else if (arg.startsWith("[") || arg.includes(",")) entry.peers = listOf(arg);
      else entry.peer = arg;
    }
    return { ok: true, entry };
  }
  return { ok: false, message: `expected ${MANUAL_SYNTAX}` };
}

/**
 * Validates `entry`, due at `timeMs` on the timeline clock, as the loader validates a file: the
 * test's config with the entries typed so far and this one appended to its timeline.
 * @returns the entry as the schema made it, or one message per problem (`peer: unknown peer
 *   "bobb"; did you mean bob?`; a problem with another entry names its path)
 */
export function validateManualEntry(
  config: Config,
  earlier: readonly TimelineEntryConfig[],
  entry: Record<string, unknown>,
  timeMs: number,
): { ok: true; entry: TimelineEntryConfig } | { ok: false; problems: string[] } {
  const commands = [...config.commands, ...earlier, { time: timeMs / 1_000, ...entry }];
  const index = commands.length - 1;
  // What chaos drew is in `commands` already; its record is the plan's, not the file's.
  const { chaos: _drawn, ...file } = config;
  try {
    const peers = file.peers.map(({ group: _group, ...peer }) => peer);
    const parsed = parseConfig(stringify({ ...file, peers, commands }), "the manual entry");
    return { ok: true, entry: parsed.commands[index] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const own = `commands[${index}]`;
    return {
      ok: false,
      problems: error.problems.map((problem) =>
        problem.path === own
          ? problem.message
          : problem.path.startsWith(`${own}.`)
          ? `${problem.path.slice(own.length + 1)}: ${problem.message}`
          : `${problem.path}: ${problem.message}`
      ),
    };
  }
}

/** What Tab offers for the prompt's text: the text completed as far as it is certain, and the options. */
export interface Completion {
  /** The text with its last word completed to the candidates' common prefix. */
  text: string;
  /** Every word the last one may become. */
  candidates: string[];
}

/**
 * Completes the last word of the prompt: the verb, then peer names (also inside `[a,b]` and
 * after a comma) or fault kinds, then a fault's `key=` parameters.
 */
export function completeManualEntry(text: string, peers: readonly string[]): Completion {
  const words = tokens(text);
  const trailing = text === "" || /\s$/.test(text);
  const current = trailing ? "" : words.pop() ?? "";
  const [verb, kind] = words;
  // Inside a list, only the part after the last `[` or `,` is completed.
  const cut = Math.max(current.lastIndexOf("["), current.lastIndexOf(","));
  const head = current.slice(0, cut + 1);
  const word = current.slice(cut + 1);
  let options: readonly string[];
  if (words.length === 0) options = ["send", "fault"];
  else if (verb === "send") options = words.length === 1 ? peers : [];
  else if (verb === "fault" && words.length === 1) options = FAULT_NAMES;
  else if (verb === "fault" && kind === "partition") options = peers;
  else if (verb === "fault") {
    const parameters = (FAULT_PARAMETERS[kind] ?? []).map((key) => `${key}=`);
    options = words.length === 2 && head === ""
      ? ["*", ...peers, ...parameters]
      : words.length === 2
      ? peers
      : parameters;
  } else options = [];
  const candidates = options.filter((option) => option.startsWith(word));
  const prefix = commonPrefix(candidates);
  // A unique word is finished with a space, except inside a list or a `key=`.
  const completed = candidates.length === 1 && !candidates[0].endsWith("=")
    ? `${candidates[0]}${head === "" ? " " : ""}`
    : prefix.length > word.length
    ? prefix
    : word;
  const before = trailing ? text : text.slice(0, text.length - current.length);
  return { text: before + head + completed, candidates };
}

/** Words split on white space, except inside brackets: `[a, b]` is one word. */
function tokens(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let depth = 0;
  for (const char of text) {
    if (char === "[") depth++;
    if (char === "]") depth = Math.max(0, depth - 1);
    if (/\s/.test(char) && depth === 0) {
      if (word) words.push(word);
      word = "";
    } else if (!/\s/.test(char)) word += char;
  }
  if (word) words.push(word);
  return words;
}

/** `[a,b]` or `a,b` → `["a", "b"]`. */
function listOf(word: string): string[] {
  return word.replace(/^\[|\]$/g, "").split(",").filter((name) => name !== "");
}

function commonPrefix(words: readonly string[]): string {
  if (words.length === 0) return "";
  let prefix = words[0];
  for (const word of words) {
    while (!word.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}
