/**
 * report.html in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core): it
 * loads with no console errors and no request leaves the file, shows one lane per peer, clicking
 * a lane filters the logs, a hostile log line stays text; and a screenshot is a real PNG.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import type { EngineEvent } from "../../../src/engine/events.ts";
import type { PlacedPeer } from "../../../src/plan/placement.ts";
import { RECORD_FILES } from "../../../src/record/record_files.ts";
import { recordRun, tempDir } from "../../support/run_records.ts";
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

Deno.test({
  name:
    "report.html in Chromium stays usable with 300 peers: 300 lanes, a click filters to one [integration: chromium]",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const plan: PlacedPeer[] = Array.from({ length: 300 }, (_, i) => ({
      ...PLAN[i % PLAN.length],
      peer: `peer-${String(i).padStart(3, "0")}`,
      port: 20_000 + i,
    }));
    const events: EngineEvent[] = [
      { t: 0, type: "run-started", test: "many", runId: "r-many", plan, timeline: [] },
      { t: 10, type: "phase", phase: "timeline" },
      ...plan.flatMap((p, i): EngineEvent[] => [
        { t: 20 + i, type: "peer-status", peer: p.peer, status: "started", previous: null },
        { t: 400 + i, type: "peer-log", peer: p.peer, level: "info", message: `hello ${i}` },
        { t: 900 + i, type: "peer-status", peer: p.peer, status: "stopped", previous: "started" },
      ]),
      {
        t: 2_000,
        type: "run-finished",
        verdict: "passed",
        exitCode: 0,
        durationMs: 2_000,
        checks: [],
        peers: plan.map((p) => ({
          peer: p.peer,
          host: p.host,
          status: "stopped",
          restarts: 0,
          warnings: 0,
          errors: 0,
        })),
      },
    ];
    const record = await recordRun(dir.path, events, { name: "many" });
    await using chromium = await browser();
    const { page, problems } = await open(chromium.browser, `${record.dir}/${RECORD_FILES.report}`);
    assertEquals(await page.$$eval(".lane[data-peer]", (lanes) => lanes.length), 300);
    await page.$eval(
      '.lane[data-peer="peer-250"]',
      (lane) => (lane as unknown as PageNode).scrollIntoView(),
    );
    await page.click('.lane[data-peer="peer-250"] .lane-name');
    assertEquals(await shownPeers(page), ["peer-250"]);
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
