/**
 * The full-screen TUI: header, peers, timeline (the summary once finished), logs and a footer,
 * laid out for the terminal size, and the keys (see `help_panel.tsx`).
 */
import { Box, type Key, Text, useInput } from "ink";
import { useState } from "react";
import { truncate } from "../../text/quantities.ts";
import type { RunStore } from "../run_store.ts";
import type { SteerResult } from "../../engine/steering.ts";
import { errorMessage } from "../../base/errors.ts";
import type { Completion } from "../../plan/manual_entry.ts";
import { useRunState } from "../use_run_state.ts";
import { HeaderPanel } from "./header_panel.tsx";
import { HelpPanel } from "./help_panel.tsx";
import { tuiLayout } from "./layout.ts";
import { type LogQuery, LogsPanel, scrollAnchor } from "./logs_panel.tsx";
import { PeersPanel } from "./peers_panel.tsx";
import { SummaryPanel, summaryRows } from "./summary_panel.tsx";
import { TimelinePanel } from "./timeline_panel.tsx";

export interface TuiAppProps {
  store: RunStore;
  /** q/Ctrl+C while running: false the first time, true the second. */
  onStop: (force: boolean) => void;
  /** q/Ctrl+C after the run finished. */
  onQuit: () => void;
  columns: number;
  rows: number;
  /** Colours and emphasis (default true). */
  color?: boolean;
  /** Clock refresh period, ms; 0 disables it (tests) (default 250). */
  tickMs?: number;
  /** `:` prompt: hands a typed timeline entry to the run; absent: no prompt. */
  steer?: (input: string) => SteerResult;
  /** `:` prompt: Tab's completion of what is typed. */
  complete?: (input: string) => Completion;
}

/** The `:` prompt's answer line: the run's reply, or Tab's candidates. */
interface PromptNotice {
  text: string;
  tone: "ok" | "error" | "info";
}

export function TuiApp(props: TuiAppProps) {
  const { store, onStop, onQuit, columns, rows } = props;
  const color = props.color ?? true;
  const { state, now } = useRunState(store, props.tickMs ?? 250);
  const [selected, setSelected] = useState(0);
  const [filterPeer, setFilterPeer] = useState<string | undefined>(undefined);
  const [search, setSearch] = useState<string | undefined>(undefined);
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [anchor, setAnchor] = useState<number | undefined>(undefined);
  const [help, setHelp] = useState(false);
  const [stops, setStops] = useState(0);
  const [prompt, setPrompt] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<PromptNotice | undefined>(undefined);

  const finished = state.finished !== undefined;
  const layout = tuiLayout(
    columns,
    rows,
    state.peers.length,
    finished ? summaryRows(state) : state.batches.length,
    finished,
  );
  const logRows = Math.max(0, layout.logsHeight - 1);
  const query: LogQuery = { peer: filterPeer, search, anchor, rows: logRows };
  const peerCount = state.peers.length;
  const current = Math.min(selected, Math.max(0, peerCount - 1));

  const stop = () => {
    if (finished) {
      onQuit();
      return;
    }
    if (stops >= 2) return;
    onStop(stops === 1);
    setStops(stops + 1);
  };

  const command = (input: string, key: Key) => {
    if (help) {
      setHelp(false);
      return;
    }
    // A page of peers: the panel's rows less its title, column header and counts.
    const page = Math.max(1, layout.peersHeight - 4);
    const last = Math.max(0, peerCount - 1);
    if (key.upArrow || input === "k") setSelected(Math.max(0, current - 1));
    else if (key.downArrow || input === "j") setSelected(Math.min(last, current + 1));
    else if (input === "K") setSelected(Math.max(0, current - page));
    else if (input === "J") setSelected(Math.min(last, current + page));
    else if (key.return) {
      const name = state.peers[current]?.name;
      setFilterPeer(filterPeer === undefined || filterPeer !== name ? name : undefined);
      setAnchor(undefined);
    } else if (key.pageUp) setAnchor(scrollAnchor(state, query, -Math.max(1, logRows - 1)));
    else if (key.pageDown) setAnchor(scrollAnchor(state, query, Math.max(1, logRows - 1)));
    else if (key.end || input === "G") setAnchor(undefined);
    else if (key.escape) {
      setSearch(undefined);
      setFilterPeer(undefined);
      setAnchor(undefined);
    } else if (input === "/") setDraft("");
    else if (input === ":" && props.steer && !finished) {
      setPrompt("");
      setNotice(undefined);
    } else if (input === "?") setHelp(true);
  };

  /** Hands the prompt's text to the run; a refused entry stays in the prompt, to be fixed. */
  const submit = (text: string) => {
    if (text.trim() === "") {
      setPrompt(undefined);
      return;
    }
    let result: SteerResult;
    try {
      result = props.steer!(text);
    } catch (error) {
      // The run's bug, not the user's: said on the prompt rather than taking the screen down.
      result = { accepted: false, message: `tm failed on this entry: ${errorMessage(error)}` };
    }
    setNotice({ text: result.message, tone: result.accepted ? "ok" : "error" });
    setPrompt(result.accepted ? undefined : text);
  };

  /**
   * Characters typed into the prompt, one by one: keys typed faster than a frame arrive together
   * (`u\tf\t`), so Tab and Enter inside them count too.
   */
  const typeIntoPrompt = (start: string, chars: string) => {
    let text = start;
    let candidates: string[] = [];
    for (const char of chars) {
      if (char === "\t") {
        const completion = props.complete?.(text);
        if (completion) ({ text, candidates } = completion);
      } else if (char === "\r" || char === "\n") return submit(text);
      else if (char >= " ") {
        text += char;
        candidates = [];
      }
    }
    setPrompt(text);
    setNotice(candidates.length > 1 ? { text: candidates.join("  "), tone: "info" } : undefined);
  };

  /** A key while the `:` prompt is open: edit, Tab completes, Enter hands it to the run. */
  const promptKey = (input: string, key: Key) => {
    const text = prompt ?? "";
    if (key.escape) {
      setPrompt(undefined);
      setNotice(undefined);
    } else if (key.tab) typeIntoPrompt(text, "\t");
    else if (key.return) submit(text);
    else if (key.backspace || key.delete) setPrompt(text.slice(0, -1));
    else if (!key.ctrl && !key.meta && input.length > 0) typeIntoPrompt(text, input);
  };

  useInput((input, key) => {
    if (key.ctrl && input === "c") {
      stop();
      return;
    }
    if (prompt !== undefined) {
      promptKey(input, key);
      return;
    }
    if (draft !== undefined) {
      if (key.escape) setDraft(undefined);
      else if (key.return) {
        setSearch(draft === "" ? undefined : draft);
        setDraft(undefined);
        setAnchor(undefined);
      } else if (key.backspace || key.delete) setDraft(draft.slice(0, -1));
      else if (!key.ctrl && !key.meta && input.length > 0) {
        setDraft(draft + [...input].filter((c) => c >= " ").join(""));
      }
      return;
    }
    // Keys typed faster than a frame arrive together ("qq", ":fault pause far"): one by one,
    // and what follows a `:` goes to the prompt.
    if (input.length > 1 && !key.ctrl && !key.meta) {
      const colon = props.steer && !finished ? input.indexOf(":") : -1;
      for (const char of colon >= 0 ? input.slice(0, colon) : input) if (char === "q") stop();
      if (colon >= 0) typeIntoPrompt("", input.slice(colon + 1));
      return;
    }
    if (input === "q") stop();
    else command(input, key);
  });

  const footer = prompt !== undefined
    ? `:${prompt}█  ` +
      (notice
        ? `${notice.tone === "error" ? "✗ " : ""}${notice.text}`
        : "(Tab complete · Enter do · Esc cancel)")
    : draft !== undefined
    ? `/${draft}█  (Enter search · Esc cancel)`
    : finished
    ? "run finished · q quit · ↑↓ select · Enter filter · PgUp/PgDn scroll · / search · ? help"
    : stops === 1
    ? "stopping gracefully… press q again to force"
    : stops >= 2
    ? "forcing stop… cleaning up"
    : notice
    ? `${notice.tone === "error" ? "✗" : "✋"} ${notice.text}  · : steer · q stop · ? help`
    : `q stop · ↑↓ select · Enter filter · PgUp/PgDn scroll · / search${
      props.steer ? " · : steer" : ""
    } · ? help`;
  const footerColor = stops > 0 && !finished
    ? "yellow"
    : notice?.tone === "error"
    ? "red"
    : notice?.tone === "ok"
    ? "cyan"
    : undefined;

  const middle = finished
    ? (
      <SummaryPanel
        state={state}
        width={layout.timelineWidth}
        height={layout.timelineHeight}
        color={color}
      />
    )
    : (
      <TimelinePanel
        state={state}
        now={now}
        width={layout.timelineWidth}
        height={layout.timelineHeight}
        color={color}
      />
    );
  const peers = (
    <PeersPanel
      state={state}
      now={now}
      selected={current}
      filtering={filterPeer !== undefined && filterPeer === state.peers[current]?.name}
      width={layout.peersWidth}
      height={layout.peersHeight}
      color={color}
    />
  );
  return (
    <Box flexDirection="column" width={columns} height={rows} overflow="hidden">
      <HeaderPanel state={state} now={now} width={columns} color={color} />
      {layout.wide
        ? (
          <Box flexDirection="row" columnGap={1} height={layout.peersHeight}>
            {peers}
            {middle}
          </Box>
        )
        : (
          <>
            {peers}
            {middle}
          </>
        )}
      {help ? <HelpPanel width={columns} height={layout.logsHeight} color={color} /> : (
        <LogsPanel
          state={state}
          query={query}
          width={columns}
          height={layout.logsHeight}
          color={color}
        />
      )}
      <Text
        wrap="truncate-end"
        color={color ? footerColor : undefined}
        dimColor={color && !footerColor}
      >
        {truncate(" " + footer, columns)}
      </Text>
    </Box>
  );
}
