/**
 * report.html in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core): it
 * loads with no console errors and no request leaves the file, shows one lane per peer, clicking
 * a lane filters the logs, a hostile log line stays text; and a screenshot is a real PNG.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import type { EngineEvent } from "../../../src/engine/events.ts";
import { RECORD_FILES } from "../../../src/record/record_files.ts";
import { readEventsOf, recordRun, tempDir } from "../../support/run_records.ts";
import { reportPage, reportPageParts } from "../../../src/record/reporters/report_html.ts";
import { reportData } from "../../../src/record/reporters/report_data.ts";
import { runHistory } from "../../../src/history/run_history.ts";
import { recordManyPeersRun } from "../../support/many_peers_run.ts";
import { PLAN, scriptedRun } from "../../support/scripted_events.ts";
import { hostileRun as hostileTextRun, RAW_CONTROL, SHOWN } from "../../support/hostile_events.ts";
import { escapeControls } from "../../../src/text/terminal_text.ts";

const CHROMIUM = "/usr/bin/chromium";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The DOM members the page functions use: Deno type-checks them without the DOM library. */
interface PageNode {
  textContent: string | null;
  value: string;
  getAttribute(name: string): string | null;
  scrollIntoView(): void;
}

/** A log line that tries to close the data's script element and run its own. */
// (Its U+2028 is shown as `\u2028`, as every view shows it.)
const BREAKOUT =
  `</script><script>window.pwned = 1</script><!-- \u2028 <img src=x onerror="window.pwned=2">`;

/** A browser for one test; closed (and its process ended) on dispose. */
async function browser(): Promise<AsyncDisposable & { browser: Browser }> {
  const launched = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  return { browser: launched, [Symbol.asyncDispose]: () => launched.close() };
}

/** Opens `file`, collecting console errors, page errors and any request that is not the file. */
async function open(browser: Browser, file: string) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1300, height: 1000 });
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error}`));
  page.on("request", (request) => {
    if (request.url() !== `file://${file}`) problems.push(`request: ${request.url()}`);
  });
  await page.goto(`file://${file}`, { waitUntil: "load" });
  return { page, problems };
}

function shownPeers(page: Page): Promise<string[]> {
  return page.$$eval(
    "tr.log",
    (rows) => rows.map((row) => (row as unknown as PageNode).getAttribute("data-peer")!),
  );
}

/** The scripted run with a hostile log line from bob. */
function hostileRun(): EngineEvent[] {
  const events = scriptedRun({ outcome: "crash" });
  events.splice(events.length - 1, 0, {
    t: 12_000,
    type: "peer-log",
    peer: "bob",
    level: "warn",
    message: BREAKOUT,
  });
  return events;
}

Deno.test({
  name:
    "report.html in Chromium: no console errors or requests, a lane per peer, a lane click filters the logs, hostile text stays text [integration: chromium]",
  // puppeteer's pipes to Chromium outlive a test by design; the browser is closed in dispose.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const record = await recordRun(dir.path, hostileRun());
    await using chromium = await browser();
    const file = `${record.dir}/${RECORD_FILES.report}`;
    const { page, problems } = await open(chromium.browser, file);
    assertEquals(problems, []);
    assertEquals(
      await page.$eval("#verdict", (el) => (el as unknown as PageNode).textContent),
      "FAILED",
    );
    assertEquals(
      await page.$$eval(
        ".lane[data-peer]",
        (lanes) => lanes.map((lane) => (lane as unknown as PageNode).getAttribute("data-peer")),
      ),
      PLAN.map((p) => p.peer),
    );
    // Dave crashed: his lane is marked, and carries the crash marker.
    assert(await page.$('.lane[data-peer="dave"] .lane-name.bad'));
    assert(await page.$('.lane[data-peer="dave"] .m-crash'));
    assert(await page.$('.lane[data-peer="bob"] .m-restart'));
    assert((await shownPeers(page)).includes("alice"));

    await page.click('.lane[data-peer="bob"] .lane-name');
    const bob = await shownPeers(page);
    assert(bob.length > 0);
    assertEquals([...new Set(bob)], ["bob"]);
    assertEquals(
      await page.$eval("#peer-filter", (el) => (el as unknown as PageNode).value),
      "bob",
    );
    // The hostile line is shown as it was sent, and ran nothing.
    const messages = await page.$$eval(
      "tr.log td.msg",
      (cells) => cells.map((c) => (c as unknown as PageNode).textContent),
    );
    assert(messages.includes(escapeControls(BREAKOUT)), messages.join("\n"));
    assertEquals(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);

    // A second click on the same lane shows every peer again.
    await page.click('.lane[data-peer="bob"] .lane-name');
    assert(new Set(await shownPeers(page)).size > 1);

    // The level filter: unticking `debug` hides the debug lines.
    await page.click('input[data-level="debug"]');
    const levels = await page.$$eval(
      "tr.log td:nth-child(3)",
      (c) => c.map((x) => (x as unknown as PageNode).textContent),
    );
    assert(levels.length > 0 && !levels.includes("debug"), levels.join());

    const shot = `${dir.path}/report.png`;
    await page.screenshot({ path: shot, fullPage: true });
    const png = await Deno.readFile(shot);
    assert(png.length > 10_000, `screenshot of ${png.length} bytes`);
    assertEquals([...png.subarray(0, 8)], PNG_SIGNATURE);
    assertEquals(problems, []);
  },
});

/** The peers whose lanes are in the page now, in order. */
function drawnLanes(page: Page): Promise<string[]> {
  return page.$$eval(
    "#lane-window .lane[data-peer]",
    (lanes) => lanes.map((lane) => (lane as unknown as PageNode).getAttribute("data-peer")!),
  );
}

/** Types `text` into the lane search (one input event, as a paste). */
async function searchLanes(page: Page, text: string): Promise<void> {
  await page.$eval("#lane-filter", (input, value) => {
    const node = input as unknown as PageNode & { dispatchEvent(event: unknown): boolean };
    node.value = value;
    node.dispatchEvent(
      new (globalThis as unknown as { Event: new (t: string) => unknown }).Event("input"),
    );
  }, text);
}

Deno.test({
  name:
    "report.html in Chromium at 300 peers draws only the lanes in view, scrolls to the last, and its search finds a peer by name or glob anywhere [integration: chromium]",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const runDir = await recordManyPeersRun(dir.path, { peers: 300, logLines: 3, crashes: 1 });
    await using chromium = await browser();
    const { page, problems } = await open(chromium.browser, `${runDir}/${RECORD_FILES.report}`);
    const first = await drawnLanes(page);
    assert(first.length > 0 && first.length <= 100, `${first.length} lanes in the page`);
    assertEquals(first.slice(0, 3), ["node-1", "node-2", "node-3"]);
    assert(!first.includes("node-250"));
    assertEquals(
      await page.$eval("#lane-count", (el) => (el as unknown as PageNode).textContent),
      "300 peers",
    );

    // Scrolled to the end: the last lanes are drawn, the first ones are gone.
    await page.$eval("#lanes-box", (box) => {
      const node = box as unknown as { scrollTop: number; scrollHeight: number };
      node.scrollTop = node.scrollHeight;
    });
    await page.waitForSelector('.lane[data-peer="node-300"]');
    const end = await drawnLanes(page);
    assert(!end.includes("node-1") && end.length <= 100, end.join());
    // The crashed peer (the last) is marked on its lane.
    assert(await page.$('.lane[data-peer="node-300"] .lane-name.bad'));

    // A name far down the list: its lane alone, and a click shows its logs.
    await searchLanes(page, "node-250");
    assertEquals(await drawnLanes(page), ["node-250"]);
    assertEquals(
      await page.$eval("#lane-count", (el) => (el as unknown as PageNode).textContent),
      "1 of 300 peers",
    );
    await page.click('.lane[data-peer="node-250"] .lane-name');
    const logs = await shownPeers(page);
    assert(logs.length > 0);
    assertEquals([...new Set(logs)], ["node-250"]);

    // A range and a glob select as the test file does (numbers, not text).
    await searchLanes(page, "node-[295-300]");
    assertEquals(await drawnLanes(page), [
      "node-295",
      "node-296",
      "node-297",
      "node-298",
      "node-299",
      "node-300",
    ]);
    await searchLanes(page, "node-2*");
    assertEquals(
      await page.$eval("#lane-count", (el) => (el as unknown as PageNode).textContent),
      "111 of 300 peers",
    );
    assert((await drawnLanes(page)).length < 111);
    // A selector that cannot be read says why, as tm validate would.
    await searchLanes(page, "node-[");
    const bad = await page.$eval("#lane-count", (el) => (el as unknown as PageNode).textContent);
    assert(bad?.includes("[ is not closed by ]"), bad ?? "");
    assertEquals(problems, []);
  },
});

Deno.test({
  name:
    "report.html in Chromium at 300 peers draws the logs a page at a time, more as they scroll, and the text filter finds a line past the first page [integration: chromium]",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const runDir = await recordManyPeersRun(dir.path, { peers: 300, logLines: 3 });
    await using chromium = await browser();
    const { page, problems } = await open(chromium.browser, `${runDir}/${RECORD_FILES.report}`);
    const rows = () => page.$$eval("tr.log", (all) => all.length);
    const countText = () =>
      page.$eval("#log-count", (el) => (el as unknown as PageNode).textContent);
    // 3 lines and 5 lines of exit output per peer.
    assertEquals(await rows(), 200);
    assertEquals(await countText(), "2400 lines (200 drawn: scroll for more)");
    await page.$eval("#logs-box", (box) => {
      const node = box as unknown as { scrollTop: number; scrollHeight: number };
      node.scrollTop = node.scrollHeight;
    });
    await page.waitForFunction(() =>
      (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } })
        .document.querySelectorAll("tr.log").length > 200
    );
    // The text filter searches every line, not only those drawn.
    await page.type("#text-filter", "node-299 line 2");
    const found = await page.$$eval(
      "tr.log td.msg",
      (c) => c.map((x) => (x as unknown as PageNode).textContent),
    );
    assertEquals(found.length, 1);
    assert(found[0]?.startsWith("node-299 line 2: "), found[0] ?? "");
    assertEquals(await countText(), "1 line");
    assertEquals(problems, []);
  },
});

Deno.test({
  name:
    "report.html in Chromium shows a peer's bidi overrides and line separators escaped, as the console does, in the logs, the evidence and the lanes [integration: chromium]",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const record = await recordRun(dir.path, hostileTextRun(), { name: "hostile" });
    await using chromium = await browser();
    const { page, problems } = await open(chromium.browser, `${record.dir}/${RECORD_FILES.report}`);
    assertEquals(problems, []);
    const text = (selector: string) =>
      page.$$eval(selector, (nodes) => nodes.map((n) => (n as unknown as PageNode).textContent));
    const titles = (selector: string) =>
      page.$$eval(
        selector,
        (nodes) => nodes.map((n) => (n as unknown as PageNode).getAttribute("title")),
      );
    // The log table: alice's line, and carol's crash output quoting it.
    const messages = await text("tr.log td.msg");
    assert(messages.includes(SHOWN.log), messages.join("\n"));
    // The failed check's evidence.
    const evidence = (await text(".evidence")).join("\n");
    assert(evidence.includes(`[warn] ${SHOWN.log}`), evidence);
    // The lanes' status spans (bob's status sets a terminal title).
    const spans = await titles(".lane[data-peer=bob] .span");
    assert(spans.some((title) => title?.startsWith(`${SHOWN.status} `)), spans.join("\n"));
    // Nothing of it reaches the page raw: not in the text, not in an attribute.
    const body = await page.evaluate(() =>
      (globalThis as unknown as { document: { body: { outerHTML: string } } }).document.body
        .outerHTML
    );
    const raw = RAW_CONTROL.exec(body.replace(/\n/g, ""));
    assert(!raw, `U+${raw?.[0].codePointAt(0)?.toString(16)} raw in the page`);
    assertEquals(await page.title(), `tm: ${SHOWN.test} (failed)`);
  },
});

Deno.test({
  name:
    "report.html in Chromium shows tm report --against's diff and marks known failures and fixed checks apart [integration: chromium]",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const withChecks = (events: EngineEvent[]) => {
      const finished = events.pop()!;
      if (finished.type !== "run-finished") throw new Error("the script ends with run-finished");
      const base = { peers: ["bob"], atMs: 1_000 };
      const checks = [
        { ...base, index: 0, description: "bob logs x", passed: false, known: "BUG-12" },
        { ...base, index: 1, description: "bob logs y", passed: true, known: "BUG-7" },
      ];
      return [...events, { ...finished, checks }];
    };
    const a = await recordRun(`${dir.path}/a`, withChecks(scriptedRun()));
    const b = await recordRun(`${dir.path}/b`, withChecks(scriptedRun({ outcome: "crash" })));
    const { rebuildReports } = await import("../../../src/record/report_command.ts");
    const { lines } = await rebuildReports(b.dir, { against: a.dir });
    assert(lines.some((line) => line.includes("regression")), lines.join("\n"));
    await using chromium = await browser();
    const { page, problems } = await open(chromium.browser, `${b.dir}/${RECORD_FILES.report}`);
    assertEquals(problems, []);
    const diff = await page.$eval("#diff-section", (el) => (el as unknown as PageNode).textContent);
    assert(diff?.includes("regressed: verdict: passed → failed"), diff ?? "");
    assert(diff?.includes("peer dave: passed → failed"), diff ?? "");
    const standings = await page.$$eval(
      "#checks td.known, #checks td.fixed",
      (cells) => cells.map((c) => (c as unknown as PageNode).textContent),
    );
    assertEquals(standings, ["KNOWN FAILURE", "FIXED?"]);
    assertEquals(problems, []);
  },
});

Deno.test("reportPageParts makes the page reportPage makes, its data equal, with no log, with one, and with logs across parts of LOGS_PER_PART", async () => {
  await using tmp = await tempDir();
  const dir = await recordManyPeersRun(tmp.path, { peers: 120, logLines: 20, crashes: 2 });
  const { events } = await readEventsOf(dir);
  const full = reportData(runHistory(events), events);
  assert(full.logs.length > 2_000, `${full.logs.length} log lines`);
  const dataOf = (page: string) =>
    JSON.parse(/<script type="application\/json" id="tm-data">(.*?)<\/script>/s.exec(page)![1]);
  for (const logs of [[], full.logs.slice(0, 1), full.logs.slice(0, 1_000), full.logs]) {
    const data = { ...full, logs };
    const { logs: _, ...frame } = data;
    const parts = [...reportPageParts(frame, logs)];
    const page = reportPage(data);
    assertEquals(dataOf(parts.join("")), dataOf(page));
    // The same page around the data.
    const outside = (text: string) => text.replace(/id="tm-data">.*?<\/script>/s, "");
    assertEquals(outside(parts.join("")), outside(page));
    // No part holds the whole of the logs' JSON.
    if (logs.length > 1_000) assert(parts.length > 4);
  }
});
