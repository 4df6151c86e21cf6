/**
 * The manual entries of one run's timeline (docs/config.md, "Steering a live run"): each typed
 * entry is read and validated as the test file's entries are (`plan/manual_entry.ts`), due at
 * the moment it was entered, reported as a `manual-entry` event, then dispatched through the
 * timeline's one path (`TestSteps.dispatch`), exactly as a scripted batch due now.
 */
import { parseManualEntry, validateManualEntry } from "../plan/manual_entry.ts";
import { type Config, isFault, type TimelineEntryConfig } from "../plan/schema.ts";
import type { UnstampedEvent } from "./events.ts";
import type { SteerResult } from "./steering.ts";
import { batchTimeline, buildTimeline, type TimelineBatch } from "./timeline.ts";
import { formatTimelineTime } from "../text/event_text.ts";

/** What the manual timeline needs of the run. */
export interface ManualTimelineOptions {
  config: Config;
  /** Every peer: what `*` and a target-less `heal` act on. */
  peers: readonly string[];
  /** How many entries the scripted timeline has: manual indexes follow theirs. */
  scripted: number;
  /** `performance.now()` of the timeline's 0. */
  origin: number;
  /** Whether the runtime can do faults (else a manual fault is refused). */
  faults: boolean;
  /** The runtime's name, for that refusal. */
  runtime: string;
  emit(event: UnstampedEvent): void;
  /** The timeline's one dispatch path. */
  dispatch(batch: TimelineBatch, lateMs: number): void;
  /** Default: `performance.now()`. */
  now?: () => number;
}

/** Takes the manual entries of one run. */
export class ManualTimeline {
  readonly #options: ManualTimelineOptions;
  /** The entries accepted so far, as the file would hold them (for the order checks). */
  readonly #accepted: TimelineEntryConfig[] = [];

  constructor(options: ManualTimelineOptions) {
    this.#options = options;
  }

  /** How many entries were accepted. */
  get count(): number {
    return this.#accepted.length;
  }

  /** Reads, validates and dispatches one typed entry; says what happened. */
  take(input: string): SteerResult {
    const options = this.#options;
    const parsed = parseManualEntry(input);
    if (!parsed.ok) return { accepted: false, message: parsed.message };
    if ("fault" in parsed.entry && !options.faults) {
      return {
        accepted: false,
        message: `the ${options.runtime} runtime cannot inject faults`,
      };
    }
    const dueMs = Math.max(0, Math.round((options.now?.() ?? performance.now()) - options.origin));
    const valid = validateManualEntry(options.config, this.#accepted, parsed.entry, dueMs);
    if (!valid.ok) return { accepted: false, message: valid.problems.join("; ") };
    this.#accepted.push(valid.entry);
    const entry = {
      ...buildTimeline([valid.entry], options.peers)[0],
      index: options.scripted + this.#accepted.length - 1,
    };
    options.emit({ type: "manual-entry", manual: true, entry, input: input.trim() });
    const [batch] = batchTimeline([entry]);
    options.dispatch(batch, 0);
    return {
      accepted: true,
      message: `manual ${isFault(valid.entry) ? "fault" : "command"} at ${
        formatTimelineTime(dueMs)
      }: ${input.trim()}`,
    };
  }
}
