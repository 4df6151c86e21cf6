/**
 * The run record (docs/run-record.md): an EventSink that writes a run's directory as it runs.
 *
 * - `config.yaml` (the file as given, byte for byte) and `plan.json` at once;
 * - `events.jsonl`: every event appended as it arrives (one synchronous write each, like the log
 *   file), so a run that is killed leaves everything up to its last event;
 * - `peers/<peer>.container.log` as the runtime streams each peer's output (`collectOutput`),
 *   each line with the engine's timestamp;
 * - `peers/<peer>/config/`: what the peer left in `/config` (`collectConfig`), up to
 *   CONFIG_BYTES_LIMIT of archive, `peers/<peer>/config.cut` saying so when it held more;
 * - at `run-finished`: `summary.json`, `junit.xml`, `report.html` and `peers/<peer>.log`, built
 *   by reading `events.jsonl` back one line at a time: the record keeps no event in memory (it
 *   kept them all for these reports: +12 MiB from 200 to 1,000 scripted peers, and its reports
 *   peaked +26 MiB over the run at 1,000; docs/architecture.md, "Memory").
 *
 * A write that fails sets `lost` and the record stops there (the run goes on); the caller warns.
 */
import type { EventSink } from "../engine/events.ts";
import type { ConfigCollector, OutputCollector, OutputLine } from "../engine/runtime.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import { planRecords } from "../cli/plan_table.ts";
import { eventLine, headerLine, type RecordedEvent, recordedEvents } from "./events_jsonl.ts";
import { peerFile, RECORD_FILES, RecordWriteError } from "./record_files.ts";
import { SyncAppender } from "./sync_appender.ts";
import { writeReports } from "./reporters/reporters.ts";
import { createRunDirectory } from "./run_directory.ts";
import { runHistory } from "../history/run_history.ts";
import { timelineStartAfter } from "../history/peer_facts.ts";

/** Options of `openRunRecord`. */
export interface RunRecordOptions {
  /** Where run directories go (`--out`). */
  parent: string;
  testName: string;
  /** The config file's bytes, as given. */
  config: Uint8Array;
  plan: readonly PlacedPeer[];
  /** The tm version written into the record. */
  tm: string;
  /** The run's start, for the directory's name. Default: now. */
  date?: Date;
}

export interface RunRecord {
  /** The run's directory. */
  readonly dir: string;
  /** Records each event as it arrives; ignores events after `close()` or a failed write. */
  sink: EventSink;
  /** For the runtime's teardown: writes `peers/<peer>.container.log`. Never throws. */
  collectOutput: OutputCollector;
  /** For the runtime's teardown: extracts a peer's `/config` into `peers/<peer>/config/`. */
  collectConfig: ConfigCollector;
  /** Why the record is incomplete (the first write that failed); undefined while none did. */
  readonly lost: RecordWriteError | undefined;
  /** Closes `events.jsonl`; idempotent. */
  close(): Promise<void>;
}

/**
 * Creates the run's directory, writes `config.yaml`, `plan.json` and the header of
 * `events.jsonl`. Throws if any of that fails (nothing has run yet).
 */
export function openRunRecord(options: RunRecordOptions): RunRecord {
  const now = options.date ?? new Date();
  const dir = createRunDirectory(options.parent, options.testName, now);
  Deno.writeFileSync(`${dir}/${RECORD_FILES.config}`, options.config);
  Deno.writeTextFileSync(
    `${dir}/${RECORD_FILES.plan}`,
    JSON.stringify(planRecords(options.plan), null, 2) + "\n",
  );
  Deno.mkdirSync(`${dir}/${RECORD_FILES.peers}`);
  const eventsPath = `${dir}/${RECORD_FILES.events}`;
  let timelineStart: number | undefined;
  let lost: RecordWriteError | undefined;
  const file = new SyncAppender(
    Deno.openSync(eventsPath, { write: true, createNew: true }),
    (error) => lost ??= new RecordWriteError(eventsPath, error),
  );
  const fail = (path: string, error: unknown) => {
    // A reporter's own RecordWriteError already names its file: wrapping it said it twice.
    lost ??= error instanceof RecordWriteError ? error : new RecordWriteError(path, error);
    file.close();
  };
  const append = (line: string) => file.write(line + "\n");
  // Every event as the file holds it, read again from its start on each iteration.
  const recorded: Iterable<RecordedEvent> = { [Symbol.iterator]: () => recordedEvents(eventsPath) };
  const finish = () => {
    try {
      const history = runHistory(recorded);
      writeReports(dir, { history, recorded, tm: options.tm });
      writePeerLogs(dir, recorded);
    } catch (error) {
      // A reporter's own RecordWriteError names its file (fail keeps it); else the summary's.
      fail(`${dir}/${RECORD_FILES.summary}`, error);
    }
  };

  append(headerLine(options.tm, now));
  return {
    dir,
    sink: (event) => {
      if (!file.open) return;
      timelineStart = timelineStartAfter(timelineStart, event);
      const entry: RecordedEvent = {
        wall: new Date().toISOString(),
        ...(timelineStart !== undefined ? { timelineMs: event.t - timelineStart } : {}),
        event,
      };
      append(eventLine(entry));
      if (event.type === "run-finished" && file.open) finish();
    },
    collectOutput: async (peer, lines) => {
      const path = `${dir}/${peerFile(peer, "container.log")}`;
      try {
        await writeContainerLog(path, lines);
      } catch (error) {
        lost ??= new RecordWriteError(path, error);
      }
    },
    collectConfig: async (peer, archive) => {
      const path = `${dir}/${RECORD_FILES.peers}/${peer}/config`;
      try {
        await extractConfig(archive, path);
      } catch (error) {
        lost ??= new RecordWriteError(path, error);
      }
    },
    get lost() {
      return lost;
    },
    close() {
      file.close();
      return Promise.resolve();
    },
  };
}

/** Bytes of container output gathered before each write: a few writes per peer, small memory. */
const OUTPUT_WRITE_BYTES = 64 * 1024;

/**
 * `peers/<peer>.container.log` written as the lines come, each line `<time> <text>` as
 * `docker logs --timestamps` writes it (just `<text>` when its time is unknown). A failed write
 * stops reading the stream and throws.
 *
 * The file calls are synchronous, as `events.jsonl`'s are: a local write of at most 64 KiB. The
 * asynchronous ones ran on Deno's blocking threads: tm went from 4 threads to 8 at the teardown of
 * 1,000 peers (bench/scale_bench.ts `--real 1000`), and stayed at 4 with these.
 */
async function writeContainerLog(path: string, lines: AsyncIterable<OutputLine>): Promise<void> {
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let batch = "";
  const flush = () => {
    const bytes = encoder.encode(batch);
    batch = "";
    for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
  };
  for await (const { at, text } of lines) {
    batch += at === "" ? `${text}\n` : `${at} ${text}\n`;
    if (batch.length >= OUTPUT_WRITE_BYTES) flush();
  }
  flush();
}

/**
 * Most bytes of a peer's `/config` archive the record keeps (docs/run-record.md): a peer's
 * state files, not its data; past it the archive is cut and `config.cut` says so.
 */
export const CONFIG_BYTES_LIMIT = 10 * 1024 * 1024;

/**
 * Extracts a tar stream into `dest` with the system `tar` (owner and modes of this user; tar
 * refuses `..` and absolute members), reading at most CONFIG_BYTES_LIMIT bytes: one chunk in
 * memory at a time. An empty archive leaves no directory.
 */
async function extractConfig(archive: ReadableStream<Uint8Array>, dest: string): Promise<void> {
  const reader = archive.getReader();
  let first = await reader.read();
  if (first.done) return;
  Deno.mkdirSync(dest, { recursive: true });
  const tar = new Deno.Command("tar", {
    // The archive's entries are under one top-level directory: its contents are the config.
    args: [
      "-x",
      "-C",
      dest,
      "--strip-components=1",
      "--no-same-owner",
      "--no-same-permissions",
      "-f",
      "-",
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const writer = tar.stdin.getWriter();
  let bytes = 0;
  let cut = false;
  try {
    for (; !first.done; first = await reader.read()) {
      const chunk = first.value;
      if (bytes + chunk.length > CONFIG_BYTES_LIMIT) {
        cut = true;
        await writer.write(chunk.subarray(0, CONFIG_BYTES_LIMIT - bytes));
        break;
      }
      bytes += chunk.length;
      await writer.write(chunk);
    }
  } finally {
    if (cut) await reader.cancel().catch(() => {});
    reader.releaseLock();
    await writer.close().catch(() => {});
  }
  const { success } = await tar.status;
  if (cut) {
    Deno.writeTextFileSync(
      `${dest}.cut`,
      `/config held more than ${CONFIG_BYTES_LIMIT} bytes of archive: the files after the cut are not kept\n`,
    );
  } else if (!success) {
    throw new Error(`tar could not extract the peer's /config into ${dest}`);
  }
}

/**
 * Bytes of peer log lines gathered across peers before they are appended to their files: the
 * memory `writePeerLogs` holds whatever the run's size, at a few opens per peer.
 */
const PEER_LOG_BUFFER_BYTES = 1024 * 1024;

/**
 * `peers/<peer>.log`: each peer's log lines as it sent them through Redis, one a line (an empty
 * file for a planned peer that sent none), streamed from the events.
 * @throws RecordWriteError naming the file that could not be written
 */
function writePeerLogs(dir: string, recorded: Iterable<RecordedEvent>): void {
  let pending = new Map<string, string>();
  let pendingBytes = 0;
  const opened = new Set<string>();
  const flush = () => {
    for (const [peer, text] of pending) {
      const path = `${dir}/${peerFile(peer, "log")}`;
      try {
        // A peer's first write creates its file; later ones append to it.
        Deno.writeTextFileSync(path, text, { append: opened.has(peer) });
      } catch (error) {
        throw new RecordWriteError(path, error);
      }
      opened.add(peer);
    }
    pending = new Map();
    pendingBytes = 0;
  };
  const add = (peer: string, text: string) => {
    pending.set(peer, (pending.get(peer) ?? "") + text);
    pendingBytes += text.length;
    if (pendingBytes >= PEER_LOG_BUFFER_BYTES) flush();
  };
  for (const { wall, event } of recorded) {
    if (event.type === "run-started") {
      for (const p of event.plan) if (!opened.has(p.peer)) add(p.peer, "");
    } else if (event.type === "peer-log") {
      add(event.peer, `${wall} ${event.level} ${event.message.replace(/\r?\n/g, "\\n")}\n`);
    }
  }
  flush();
}
