/**
 * The run record's `report.html` (docs/run-record.md, "report.html"): one self-contained page,
 * readable offline (inline CSS and script, no network, no fonts): the verdict, the checks, a
 * swimlane per peer (statuses as coloured spans, commands, restarts, crashes and exits as
 * markers), and the logs, filterable by peer and level and linked to the time axis.
 *
 * The data is embedded as JSON in a `<script type="application/json">`, with `<`, `>`, `&` and
 * the JavaScript line separators escaped, so nothing a peer logs can close the script element;
 * the page's script shows every string with `textContent`, never as markup.
 */
import type { RecordedEvent } from "../events_jsonl.ts";
import {
  type ReportData,
  reportData,
  type ReportFrame,
  reportFrame,
  type ReportLog,
  reportLogs,
} from "./report_data.ts";
import type { RunHistory } from "../../history/run_history.ts";
import { RECORD_FILES } from "../record_files.ts";
import type { Reporter } from "./reporter.ts";
import type { RunDiff } from "../run_diff.ts";
import { peerPatternScript } from "../../plan/peer_selector.ts";

/** The `report.html` reporter. */
export const htmlReporter: Reporter = {
  file: RECORD_FILES.report,
  render: ({ history, recorded, extras }) =>
    reportPageParts(reportFrame(history, recorded, extras?.diff), reportLogs(recorded)),
};

/** The page for a run. */
export function reportHtml(
  history: RunHistory,
  recorded: Iterable<RecordedEvent>,
  diff?: RunDiff,
): string {
  return reportPage(reportData(history, recorded, diff));
}

/**
 * Log lines of the page's data serialised at a time: the page is written in parts, so its text
 * (3.1 MB for a 1,000-peer run) never exists as one string, nor do the copies its escaping made,
 * nor its log lines as a list (`reportLogs` reads them from the record as they are written).
 */
const LOGS_PER_PART = 1_000;

/** The page in parts, written one after another: `logs` last in its data's JSON. */
export function* reportPageParts(frame: ReportFrame, logs: Iterable<ReportLog>): Generator<string> {
  yield pageHead(frame);
  // `frame` always has fields: its JSON is `{…}`; the logs go in as one more.
  yield `${scriptJson(frame).slice(0, -1)},"logs":[`;
  let part: ReportLog[] = [];
  let first = true;
  const flush = () => {
    const text = `${first ? "" : ","}${scriptJson(part).slice(1, -1)}`;
    first = false;
    part = [];
    return text;
  };
  for (const log of logs) {
    part.push(log);
    if (part.length === LOGS_PER_PART) yield flush();
  }
  if (part.length > 0) yield flush();
  yield `]}${PAGE_TAIL}`;
}

/** JSON safe inside a `<script>` element: no `</script>`, no `<!--`, no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function htmlText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The page around `data`. */
export function reportPage(data: ReportData): string {
  return pageHead(data) + scriptJson(data) + PAGE_TAIL;
}

/** The page up to its data's JSON. */
function pageHead(data: ReportFrame): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>tm: ${htmlText(data.test)} (${htmlText(data.verdict)})</title>
<style>${STYLE}</style>
</head>
<body>
<header id="head"></header>
<section id="diff-section" hidden><h2>Compared with an earlier run</h2><div id="diff"></div></section>
<section id="checks-section"><h2>Checks</h2><div id="checks"></div></section>
<section><h2>Peers <small>(click a lane to show its logs; click again for all)</small></h2>
<div id="lane-search"><label>find peers <input id="lane-filter" type="search"
placeholder="name, part of one, or node-* / node-[1-50]"></label> <span id="lane-count"></span></div>
<div id="lanes-box"><div id="axis"></div><div id="lanes"></div><div id="lane-window"></div>
<div id="cursor"></div></div>
<div id="legend"></div></section>
<section><h2>Logs</h2>
<div id="filters">
<label>peer <select id="peer-filter"><option value="">all peers</option></select></label>
<span id="level-filters"></span>
<label>text <input id="text-filter" type="search" placeholder="filter"></label>
<span id="log-count"></span>
</div>
<div id="logs-box"><table id="logs"><thead><tr><th>time</th><th>peer</th><th>level</th>
<th>message</th></tr></thead><tbody></tbody></table></div>
</section>
<script type="application/json" id="tm-data">`;
}

const STYLE = `
:root { --label: 180px; font-family: system-ui, sans-serif; font-size: 14px; color: #222; }
body { margin: 0 16px 32px; }
h1 { font-size: 20px; margin: 12px 0 4px; }
h2 { font-size: 16px; margin: 18px 0 6px; }
h2 small { font-weight: normal; color: #666; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff;
  font-weight: bold; }
.v-passed { background: #2e7d32; } .v-failed { background: #c62828; }
.v-interrupted { background: #ef6c00; } .v-unfinished { background: #6a1b9a; }
.meta { color: #555; margin: 4px 0; }
#checks table, #logs { border-collapse: collapse; width: 100%; }
#checks td, #checks th, #logs td, #logs th { text-align: left; padding: 2px 6px;
  border-bottom: 1px solid #eee; vertical-align: top; }
.pass { color: #2e7d32; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
.evidence { font-family: ui-monospace, monospace; white-space: pre-wrap; color: #555; }
#lanes-box { position: relative; max-height: 60vh; overflow: auto; border: 1px solid #ddd; }
#axis { position: sticky; top: 0; height: 20px; margin-left: var(--label); background: #fafafa;
  border-bottom: 1px solid #ddd; z-index: 2; }
.tick { position: absolute; top: 0; font-size: 11px; color: #666; border-left: 1px solid #ccc;
  padding-left: 2px; height: 20px; }
.lane { display: flex; height: 19px; box-sizing: border-box; cursor: pointer;
  border-bottom: 1px solid #f3f3f3; }
#lane-window { position: relative; }
/* The axis and the phases stay in view over a thousand lanes; the shadow covers the names. */
#axis { box-shadow: calc(-1 * var(--label)) 0 0 #fafafa; }
#lanes { position: sticky; top: 20px; background: #fff; z-index: 2; }
#lane-window .lane { position: absolute; left: 0; right: 0; }
#lane-search { margin-bottom: 4px; } #lane-filter { width: 340px; }
#lane-count { color: #555; font-size: 12px; } #lane-count.bad { color: #c62828; }
.lane:hover { background: #f5f9ff; } .lane.selected { background: #e3f0ff; }
.lane-name { width: var(--label); flex: none; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; font-size: 12px; padding: 0 4px; box-sizing: border-box; }
.lane-name.bad { color: #c62828; font-weight: bold; }
.track { position: relative; flex: 1; }
.span { position: absolute; top: 3px; height: 12px; border-radius: 2px; opacity: 0.85; }
.marker { position: absolute; top: 1px; width: 2px; height: 16px; }
.m-command { background: #1565c0; } .m-restart { background: #ef6c00; width: 4px; }
.m-crash { background: #c62828; width: 5px; } .m-exit { background: #333; }
.m-manual { background: #00acc1; width: 6px; border: 1px solid #004d57; }
.steered { color: #00838f; font-weight: bold; }
.m-unsent { background: #ad1457; } .m-fault { background: #8e24aa; width: 4px; } .m-check-pass { background: #2e7d32; width: 4px; }
.m-check-fail { background: #c62828; width: 4px; }
.m-check-known { background: #6a1b9a; width: 4px; } .m-check-fixed { background: #00838f; width: 4px; }
td.known { color: #6a1b9a; font-weight: bold; } td.fixed { color: #00838f; font-weight: bold; }
.known-note { color: #6a1b9a; }
.diff-lines { white-space: pre-wrap; font-size: 12px; background: #f6f6f6; padding: 6px; }
.phase { position: absolute; top: 0; height: 18px; border-left: 1px dashed #bbb; font-size: 10px;
  color: #888; padding-left: 2px; white-space: nowrap; overflow: hidden; text-overflow: clip;
  box-sizing: border-box; }
#cursor { position: absolute; top: 0; bottom: 0; width: 1px; background: #d500f9;
  display: none; pointer-events: none; z-index: 3; }
#legend { font-size: 12px; color: #555; margin-top: 4px; }
#legend span.sw { display: inline-block; width: 12px; height: 10px; margin: 0 3px 0 10px;
  vertical-align: middle; }
#filters { margin-bottom: 6px; } #filters label { margin-right: 12px; }
#level-filters label { margin-right: 6px; }
#logs-box { max-height: 70vh; overflow: auto; border: 1px solid #ddd; }
#logs td.msg { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
#logs td.time { white-space: nowrap; cursor: pointer; color: #1565c0; }
#logs tr.l-warn td { background: #fff8e1; } #logs tr.l-error td { background: #ffebee; }
#logs tr.l-output td { background: #f3e5f5; } #logs tr.at td { outline: 1px solid #d500f9; }
`;

const SCRIPT = `
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("tm-data").textContent);
  // Lanes are drawn only where the lanes box shows them (with OVERSCAN rows either side), so a
  // run of 10,000 peers costs the page a screenful of lanes, not 10,000.
  var LANE_PX = 19;
  var OVERSCAN = 10;
  var t0 = data.timelineStartMs === null ? 0 : data.timelineStartMs;
  var span = Math.max(1, data.endMs);
  var LOG_PAGE = 200;
  var STATUS_COLORS = { launched: "#b0bec5", started: "#81c784", connecting: "#fff176",
    connected: "#43a047", disconnecting: "#ffb74d", disconnected: "#a1887f",
    restarting: "#ff7043", stopped: "#9e9e9e", failed: "#e53935" };
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function clock(t) {
    var s = (t - t0) / 1000;
    return (s < 0 ? "-" : "") + Math.abs(s).toFixed(3) + " s";
  }
  function pct(t) { return (100 * Math.min(Math.max(t, 0), span) / span) + "%"; }
  function colorOf(status) {
    var word = status.split("|")[0];
    if (STATUS_COLORS[word]) return STATUS_COLORS[word];
    var h = 0;
    for (var i = 0; i < word.length; i++) h = (h * 31 + word.charCodeAt(i)) % 360;
    return "hsl(" + h + ", 55%, 65%)";
  }

  var head = document.getElementById("head");
  head.appendChild(el("h1", "", "tm run: " + data.test));
  var verdict = el("span", "verdict v-" + data.verdict, data.verdict.toUpperCase());
  verdict.id = "verdict";
  head.appendChild(verdict);
  head.appendChild(el("div", "meta", "run " + data.runId + ", started " + data.startedAt +
    ", " + (data.endMs / 1000).toFixed(1) + " s" +
    (data.exitCode === null ? "" : ", exit code " + data.exitCode) +
    (data.timelineStartMs === null ? "; times are since the run started" :
      "; times are on the timeline clock (0 = the timeline began)")));
  if (data.reason) head.appendChild(el("div", "meta", data.reason));
  if (data.manualEntries > 0) {
    head.appendChild(el("div", "steered", "steered by hand: " + data.manualEntries +
      (data.manualEntries === 1 ? " entry" : " entries") + " (cyan markers)"));
  }

  if (data.diff) {
    document.getElementById("diff-section").hidden = false;
    var diffBox = document.getElementById("diff");
    diffBox.appendChild(el("div", "meta", "run " + data.diff.againstRunId + " (" +
      data.diff.againstDir + ") is A; this run is B"));
    diffBox.appendChild(el("div", data.diff.regressions.length ? "fail" : "pass",
      data.diff.regressions.length ? "regressed: " + data.diff.regressions.join("; ") :
        "no regression against A"));
    diffBox.appendChild(el("pre", "diff-lines", data.diff.lines.join("\\n")));
  }
  var STANDING_CLASS = { passed: "pass", failed: "fail", "known-failure": "known", fixed: "fixed" };
  var STANDING_WORD = {
    passed: "passed", failed: "FAILED", "known-failure": "KNOWN FAILURE", fixed: "FIXED?",
  };
  var checks = document.getElementById("checks");
  if (data.checks.length === 0) {
    checks.appendChild(el("div", "meta", "no checks decided"));
  } else {
    var table = el("table");
    data.checks.forEach(function (check) {
      var row = el("tr");
      row.appendChild(el("td", STANDING_CLASS[check.standing], STANDING_WORD[check.standing]));
      row.appendChild(el("td", "", "#" + check.index));
      var what = el("td", "", check.description);
      if (check.known !== null) {
        what.appendChild(el("div", "known-note", (check.standing === "fixed" ?
          "fixed? remove \u0060known\u0060: " : "known failure: ") + check.known));
      }
      if (check.evidence.length) what.appendChild(el("div", "evidence", check.evidence.join("\\n")));
      row.appendChild(what);
      row.appendChild(el("td", "", clock(check.t)));
      table.appendChild(row);
    });
    checks.appendChild(table);
  }

  var axis = document.getElementById("axis");
  var step = Math.pow(10, Math.floor(Math.log10(span / 8)));
  if (span / step > 16) step *= 5; else if (span / step > 8) step *= 2;
  for (var tick = Math.ceil(-t0 / step) * step + t0; tick <= span; tick += step) {
    if (tick < 0) continue;
    var label = el("div", "tick", ((tick - t0) / 1000).toFixed(step < 1000 ? 1 : 0) + "s");
    label.style.left = pct(tick);
    axis.appendChild(label);
  }

  var lanes = document.getElementById("lanes");
  var selected = null;
  function laneRow(name, bad, title, fill, parent) {
    var row = el("div", "lane");
    var label = el("div", "lane-name" + (bad ? " bad" : ""), name);
    label.title = title;
    row.appendChild(label);
    var track = el("div", "track");
    fill(track);
    row.appendChild(track);
    if (parent) parent.appendChild(row);
    return row;
  }
  function mark(track, t, cls, title) {
    var m = el("div", "marker " + cls);
    m.style.left = pct(t);
    m.title = clock(t) + ": " + title;
    track.appendChild(m);
  }
  laneRow("phases", false, "the run's phases", function (track) {
    data.phases.forEach(function (p) {
      var node = el("div", "phase", p.phase);
      node.style.left = pct(p.from);
      // As wide as the phase: a short phase's name is cut rather than written over the next one.
      node.style.width = "calc(" + pct(p.to) + " - " + pct(p.from) + ")";
      node.title = p.phase + " " + clock(p.from) + " to " + clock(p.to);
      track.appendChild(node);
    });
    data.checks.forEach(function (c) {
      mark(track, c.t, "m-check-" + STANDING_CLASS[c.standing],
        "check #" + c.index + " " + STANDING_WORD[c.standing] + ": " + c.description);
    });
  }, lanes).className = "lane phases-lane";
  var laneWindow = document.getElementById("lane-window");
  var lanesBox = document.getElementById("lanes-box");
  /** The lanes the search selects, in order; all of them without a search. */
  var shownLanes = data.lanes;
  /** The rows drawn now, by peer: reused while they stay in view. */
  var drawn = new Map();
  function laneOf(lane) {
    var title = lane.peer + " on " + lane.host +
      (lane.problems.length ? ": " + lane.problems.join("; ") : "");
    var row = laneRow(lane.peer, lane.problems.length > 0, title, function (track) {
      lane.spans.forEach(function (s) {
        var node = el("div", "span");
        node.style.left = pct(s.from);
        node.style.width = "calc(" + pct(s.to) + " - " + pct(s.from) + ")";
        node.style.background = colorOf(s.status);
        node.title = s.status + " " + clock(s.from) + " to " + clock(s.to);
        track.appendChild(node);
      });
      lane.markers.forEach(function (m) { mark(track, m.t, "m-" + m.kind, m.label); });
    });
    row.dataset.peer = lane.peer;
    return row;
  }
  function drawLanes() {
    laneWindow.style.height = (shownLanes.length * LANE_PX) + "px";
    var top = lanesBox.scrollTop - laneWindow.offsetTop;
    var first = Math.max(0, Math.floor(top / LANE_PX) - OVERSCAN);
    var last = Math.min(shownLanes.length,
      Math.ceil((top + lanesBox.clientHeight) / LANE_PX) + OVERSCAN);
    var next = new Map();
    var rows = [];
    for (var i = first; i < last; i++) {
      var lane = shownLanes[i];
      var row = drawn.get(lane.peer) || laneOf(lane);
      row.style.top = (i * LANE_PX) + "px";
      row.classList.toggle("selected", lane.peer === selected);
      next.set(lane.peer, row);
      rows.push(row);
    }
    drawn = next;
    laneWindow.replaceChildren.apply(laneWindow, rows);
  }
  var drawPending = false;
  lanesBox.addEventListener("scroll", function () {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(function () { drawPending = false; drawLanes(); });
  });
  laneWindow.addEventListener("click", function (event) {
    var row = event.target.closest(".lane");
    if (!row) return;
    var track = row.querySelector(".track");
    var box = track.getBoundingClientRect();
    var t = (event.clientX - box.left) / Math.max(1, box.width) * span;
    selectPeer(selected === row.dataset.peer ? "" : row.dataset.peer);
    if (event.clientX >= box.left) showTime(t);
  });

  ${peerPatternScript()}
  var laneFilter = document.getElementById("lane-filter");
  var laneCount = document.getElementById("lane-count");
  /** Shows the lanes of the peers the search names: a glob or range as in the test file, else
   * every peer whose name contains the text (any case). */
  function searchLanes() {
    var text = laneFilter.value.trim();
    var test = null;
    laneCount.className = "";
    if (text && isPeerPattern(text)) {
      try {
        test = compilePeerPattern(text);
      } catch (error) {
        laneCount.className = "bad";
        laneCount.textContent = error.message;
        return;
      }
    } else if (text) {
      var lower = text.toLowerCase();
      test = function (name) { return name.toLowerCase().indexOf(lower) >= 0; };
    }
    shownLanes = test ? data.lanes.filter(function (lane) { return test(lane.peer); }) : data.lanes;
    laneCount.textContent = test ? shownLanes.length + " of " + data.lanes.length + " peers"
      : data.lanes.length + " peers";
    lanesBox.scrollTop = 0;
    drawLanes();
  }
  laneFilter.addEventListener("input", searchLanes);
  searchLanes();

  var legend = document.getElementById("legend");
  Object.keys(STATUS_COLORS).forEach(function (status) {
    var sw = el("span", "sw");
    sw.style.background = STATUS_COLORS[status];
    legend.appendChild(sw);
    legend.appendChild(document.createTextNode(status));
  });
  legend.appendChild(document.createTextNode(
    "; markers: blue command, orange restart, red crash, black exit, purple fault, cyan typed by hand, green/red check (violet: known failure, teal: fixed known)"));

  var peerFilter = document.getElementById("peer-filter");
  data.lanes.forEach(function (lane) { peerFilter.appendChild(el("option", "", lane.peer)); });
  peerFilter.appendChild(el("option", "", "tm"));
  var levels = [];
  data.logs.forEach(function (l) { if (levels.indexOf(l.level) < 0) levels.push(l.level); });
  var levelBox = document.getElementById("level-filters");
  var shownLevels = {};
  levels.forEach(function (level) {
    shownLevels[level] = true;
    var label = el("label");
    var box = el("input");
    box.type = "checkbox";
    box.checked = true;
    box.dataset.level = level;
    box.addEventListener("change", function () { shownLevels[level] = box.checked; render(); });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + level));
    levelBox.appendChild(label);
  });
  var textFilter = document.getElementById("text-filter");
  textFilter.addEventListener("input", function () { render(); });
  peerFilter.addEventListener("change", function () { selectPeer(peerFilter.value); });

  var body = document.querySelector("#logs tbody");
  var count = document.getElementById("log-count");
  var logsBox = document.getElementById("logs-box");
  /** The lines the filters select, and how many of them are drawn (LOG_PAGE more as the list
   * scrolls near its end): a keystroke in the filter draws a page, not thousands of rows. */
  var shown = [];
  var drawnLogs = 0;
  var marked = null;
  function lower(l) {
    if (l.lower === undefined) l.lower = l.message.toLowerCase();
    return l.lower;
  }
  function render() {
    var peer = peerFilter.value;
    var text = textFilter.value.toLowerCase();
    shown = data.logs.filter(function (l) {
      return (!peer || l.peer === peer) && shownLevels[l.level] &&
        (!text || lower(l).indexOf(text) >= 0);
    });
    body.textContent = "";
    drawnLogs = 0;
    marked = null;
    drawLogs(LOG_PAGE);
  }
  function drawLogs(more) {
    var end = Math.min(shown.length, drawnLogs + more);
    var rows = document.createDocumentFragment();
    for (var i = drawnLogs; i < end; i++) {
      var l = shown[i];
      var row = el("tr", "log l-" + l.level);
      row.dataset.peer = l.peer;
      row.dataset.t = String(l.t);
      var time = el("td", "time", clock(l.t));
      time.title = "show on the lanes";
      row.appendChild(time);
      row.appendChild(el("td", "", l.peer));
      row.appendChild(el("td", "", l.level));
      row.appendChild(el("td", "msg", l.message));
      rows.appendChild(row);
    }
    body.appendChild(rows);
    drawnLogs = end;
    count.textContent = (shown.length === 1 ? "1 line" : shown.length + " lines") +
      (drawnLogs < shown.length ? " (" + drawnLogs + " drawn: scroll for more)" : "");
  }
  logsBox.addEventListener("scroll", function () {
    if (drawnLogs < shown.length &&
      logsBox.scrollTop + logsBox.clientHeight > logsBox.scrollHeight - 600) {
      drawLogs(LOG_PAGE);
    }
  });
  body.addEventListener("click", function (event) {
    var cell = event.target.closest("td.time");
    if (cell) showTime(Number(cell.parentNode.dataset.t));
  });
  function selectPeer(peer) {
    selected = peer || null;
    peerFilter.value = peer;
    drawn.forEach(function (row, name) { row.classList.toggle("selected", name === peer); });
    render();
  }
  var cursor = document.getElementById("cursor");
  function showTime(t) {
    var track = lanes.querySelector(".track");
    if (track) {
      cursor.style.display = "block";
      // Down the whole list of lanes, not only its first screenful.
      cursor.style.height = lanesBox.scrollHeight + "px";
      cursor.style.left = (track.offsetLeft + track.offsetWidth * Math.min(Math.max(t, 0), span) /
        span) + "px";
    }
    var at = -1;
    for (var i = 0; i < shown.length; i++) {
      if (shown[i].t >= t) { at = i; break; }
    }
    if (marked) marked.classList.remove("at");
    marked = null;
    if (at < 0) return;
    if (at >= drawnLogs) drawLogs(at + LOG_PAGE - drawnLogs);
    marked = body.children[at];
    marked.classList.add("at");
    logsBox.scrollTop = marked.offsetTop - logsBox.clientHeight / 3;
  }
  render();
})();
`;

/** The page after its data's JSON. */
const PAGE_TAIL = `</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
