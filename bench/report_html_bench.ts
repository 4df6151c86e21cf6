/**
 * report.html of a 1,000-peer run in headless Chromium (Debian's `chromium`, puppeteer-core):
 * the record is written by the real record writer from the engine's events of a scripted run
 * (tests/support/many_peers_run.ts: 1,000 peers, 30 log lines each, statuses, a command each,
 * container output), then the page is opened and timed:
 * - load and first render: from navigation to the second animation frame after `load`;
 * - scrolling the lanes to the last peer, until its lane is drawn;
 * - searching the lanes for one peer by name and for a glob, until the lanes show them;
 * - a lane click (the logs filtered to that peer), until drawn;
 * - typing a word (7 keystrokes) into the logs' text filter, and unticking a level, every line
 *   of the run filtered, until drawn.
 * Baseline, in the same run and the same browser: the same page for a 10-peer run.
 * Target (issue 17 §3): load and first render < 5 s at 1,000 peers; each interaction < 1 s.
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { RECORD_FILES } from "../src/record/record_files.ts";
import { recordManyPeersRun } from "../tests/support/many_peers_run.ts";
import { met, ms, ratio } from "./support/distribution.ts";

const CHROMIUM = "/usr/bin/chromium";
const PEERS = 1_000;
const BASELINE_PEERS = 10;
const LOAD_TARGET_MS = 5_000;
const INTERACTION_TARGET_MS = 1_000;

/** The DOM members the page functions use: Deno type-checks them without the DOM library. */
interface PageNode {
  scrollTop: number;
  scrollHeight: number;
  value: string;
  dispatchEvent(event: unknown): boolean;
}
interface PageGlobals {
  document: {
    getElementById(id: string): PageNode;
    querySelectorAll(selector: string): { length: number };
  };
  requestAnimationFrame(callback: () => void): void;
  Event: new (type: string) => unknown;
}

interface Figures {
  bytes: number;
  loadMs: number;
  lanesInDom: number;
  /** Elements in the page after load. */
  elements: number;
  scrollMs: number;
  searchMs: number;
  globMs: number;
  clickMs: number;
  typeMs: number;
  levelMs: number;
}

/** Two animation frames: what was changed has been laid out and painted. */
function painted(page: Page): Promise<void> {
  return page.evaluate(() =>
    new Promise<void>((resolve) => {
      const g = globalThis as unknown as PageGlobals;
      g.requestAnimationFrame(() => g.requestAnimationFrame(resolve));
    })
  );
}

/** Time of `action` until `selector` is in the page and a frame is painted. */
async function timed(page: Page, action: () => Promise<unknown>, selector: string) {
  const start = performance.now();
  await action();
  await page.waitForSelector(selector, { timeout: 60_000 });
  await painted(page);
  return performance.now() - start;
}

/** Types `text` into the lane search at once (one input event), as a paste does. */
function search(page: Page, text: string) {
  return page.evaluate((value) => {
    const g = globalThis as unknown as PageGlobals;
    const input = g.document.getElementById("lane-filter");
    input.value = value;
    input.dispatchEvent(new g.Event("input"));
  }, text);
}

async function measure(browser: Browser, peers: number): Promise<Figures> {
  const parent = await Deno.makeTempDir({ prefix: "tm-bench-report-" });
  const page = await browser.newPage();
  try {
    const dir = await recordManyPeersRun(parent, { peers, logLines: 30, crashes: 3 });
    const file = `${dir}/${RECORD_FILES.report}`;
    const bytes = (await Deno.stat(file)).size;
    await page.setViewport({ width: 1300, height: 1000 });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    const loadMs = await timed(
      page,
      () => page.goto(`file://${file}`, { waitUntil: "load", timeout: 120_000 }),
      ".lane[data-peer]",
    );
    const lanesInDom = await page.$$eval(".lane[data-peer]", (lanes) => lanes.length);
    // Counted in the page: a handle per element would overflow puppeteer at 50,000.
    const elements = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).document.querySelectorAll("*").length
    );
    const last = `node-${peers}`;
    const scrollMs = await timed(
      page,
      () =>
        page.evaluate(() => {
          const box = (globalThis as unknown as PageGlobals).document.getElementById("lanes-box");
          box.scrollTop = box.scrollHeight;
        }),
      `.lane[data-peer="${last}"]`,
    );
    const middle = `node-${Math.ceil(peers / 2) + 1}`;
    const searchMs = await timed(page, () => search(page, middle), `.lane[data-peer="${middle}"]`);
    const globMs = await timed(
      page,
      () => search(page, `node-[${peers - 4}-${peers}]`),
      `.lane[data-peer="${last}"]`,
    );
    const clickMs = await timed(
      page,
      () => page.click(`.lane[data-peer="${last}"] .lane-name`),
      `tr.log[data-peer="${last}"]`,
    );
    await page.click(`.lane[data-peer="${last}"] .lane-name`); // every peer's lines again
    const typeMs = await timed(
      page,
      () => page.type("#text-filter", "routing"),
      'tr.log[data-peer="node-1"]',
    );
    const levelMs = await timed(
      page,
      () => page.click('input[data-level="debug"]'),
      "tr.log",
    );
    if (errors.length > 0) throw new Error(`the page failed: ${errors.join("; ")}`);
    return {
      bytes,
      loadMs,
      lanesInDom,
      elements,
      scrollMs,
      searchMs,
      globMs,
      clickMs,
      typeMs,
      levelMs,
    };
  } finally {
    await page.close();
    await Deno.remove(parent, { recursive: true });
  }
}

async function bench(): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    // A first page warms the browser up, so neither measurement pays for its start.
    await measure(browser, BASELINE_PEERS);
    const base = await measure(browser, BASELINE_PEERS);
    const big = await measure(browser, PEERS);
    const row = (what: string, a: number, b: number, target: number) =>
      `| ${what} | ${ms(a, 0)} | ${ms(b, 0)} | ${ratio(a, b)} | < ${target / 1000} s | ${
        met(a < target)
      } |`;
    console.log(`## report.html at 1,000 peers in headless Chromium

The record of a scripted ${PEERS.toLocaleString("en-US")}-peer run (30 log lines, statuses, a
command and container output per peer; 3 crashes) written by the real record writer, opened in
headless Chromium (puppeteer-core); baseline: the same page for ${BASELINE_PEERS} peers, same run,
same browser. Each time runs until what it changed is in the page and a frame is painted.
report.html is ${(big.bytes / 1e6).toFixed(1)} MB; ${big.lanesInDom} of ${PEERS} lanes are in the
DOM after load, ${big.elements} elements in all (baseline: ${base.lanesInDom} of ${BASELINE_PEERS},
${base.elements} elements).

| Measure | ${
      PEERS.toLocaleString("en-US")
    } peers | ${BASELINE_PEERS} peers (baseline) | Ratio | Target | Verdict |
| --- | --- | --- | --- | --- | --- |
${row("load and first render", big.loadMs, base.loadMs, LOAD_TARGET_MS)}
${row("scroll the lanes to the last peer", big.scrollMs, base.scrollMs, INTERACTION_TARGET_MS)}
${row("search the lanes by name", big.searchMs, base.searchMs, INTERACTION_TARGET_MS)}
${row("search the lanes by glob", big.globMs, base.globMs, INTERACTION_TARGET_MS)}
${row("click a lane (logs filtered)", big.clickMs, base.clickMs, INTERACTION_TARGET_MS)}
${row("type a word (7 keys) in the logs' filter", big.typeMs, base.typeMs, INTERACTION_TARGET_MS)}
${row("untick a log level", big.levelMs, base.levelMs, INTERACTION_TARGET_MS)}`);
  } finally {
    await browser.close();
  }
}

await bench();
