/**
 * Runs every `bench/*_bench.ts` as its own process and writes docs/benchmarks.md.
 *
 * Convention: a benchmark prints one Markdown section on stdout (a `## title` line, what
 * was measured, a table of figures beside a baseline measured in the same run, each target and
 * whether it was met: a table cell `met` or `**missed**`) and exits 0 when it could measure,
 * whatever the figures; diagnostics go to stderr. Every benchmark has a target: a section with
 * no such cell counts as a failure. This script
 * exits non-zero when a benchmark could not measure or a figure missed its target, after
 * writing the file either way (a miss is a result to keep, not to hide). `deno task bench [name-filter]` runs the ones whose file name contains the filter and
 * replaces only their sections (arguments after the filter are passed to each benchmark run): each section is stamped with the date and machine of the run
 * that wrote it, so every figure in the file says where it comes from.
 */
const filter = Deno.args[0] ?? "";
/** Arguments after the filter go to every benchmark run (e.g. `-- --peers 2,20`). */
const benchArgs = Deno.args.slice(1).filter((arg, i) => !(i === 0 && arg === "--"));
const root = new URL("..", import.meta.url).pathname;
const files = [...Deno.readDirSync(`${root}bench`)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith("_bench.ts") && name.includes(filter))
  .sort();

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "unknown";
  }
}

const cpu = (await text("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"])).trim();
/** The 1-minute load average: other work on the machine weighs on every figure. */
const loadAverage = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "unknown")).split(" ")[0];
const machine = (date: Date, load: { before: string; after: string }, tookMs: number) =>
  [
    `- Date: ${date.toISOString()}, took ${Math.round(tookMs / 1000)} s`,
    `- Load average (1 min, ${navigator.hardwareConcurrency} cores): ${load.before} when this ` +
    `benchmark started, ${load.after} when it ended${
      Number(load.before) > navigator.hardwareConcurrency ||
        Number(load.after) > navigator.hardwareConcurrency
        ? ": the machine was loaded by other work, which weighs on every figure (ratios are " +
          "taken within the run for that reason)"
        : ""
    }`,
    `- Machine: ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores (${cpu}), ${
      Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
    } GiB`,
    `- Deno ${Deno.version.deno}, ${facts.redis}`,
    `- Docker: ${facts.docker}`,
  ].join("\n");
const facts = {
  redis: await text("redis-server", ["--version"]),
  docker: await text("docker", [
    "version",
    "--format",
    "client {{.Client.Version}}, engine {{.Server.Version}}",
  ]),
};

/** docs/benchmarks.md's sections by bench file, from the markers this script writes. */
function sectionsOf(doc: string): Map<string, string> {
  const found = new Map<string, string>();
  const marker = /<!-- bench:(\S+) -->\n([\s\S]*?)<!-- \/bench:\1 -->/g;
  for (const match of doc.matchAll(marker)) found.set(match[1], match[2].trim());
  return found;
}

const docPath = `${root}docs/benchmarks.md`;
const previous = sectionsOf(await Deno.readTextFile(docPath).catch(() => ""));
const sections = new Map<string, string>();
let failed = 0;
/** Benchmarks that measured and missed a target. */
const missed: string[] = [];
/** A verdict cell of a missed target in a benchmark's tables. */
const MISSED_CELL = /\|\s*(\*\*)?missed(\*\*)?\s*\|/;
/** A verdict cell of a target, met or missed. */
const VERDICT_CELL = /\|\s*(\*\*)?(met|missed)(\*\*)?\s*\|/;
/** How long each benchmark took, ms, for the closing line. */
const took: string[] = [];
for (const file of files) {
  console.error(`running bench/${file} ...`);
  const started = new Date();
  const loadBefore = await loadAverage();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}bench/${file}`, ...benchArgs],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const body = new TextDecoder().decode(out.stdout).trim();
  const [title, ...rest] =
    (out.success ? body : `## ${file}\n\nFailed to run (exit ${out.code}).\n\n${body}`)
      .split("\n");
  const load = { before: loadBefore, after: await loadAverage() };
  const tookMs = Date.now() - started.getTime();
  took.push(`${file} ${Math.round(tookMs / 1000)} s`);
  console.error(`bench/${file}: took ${Math.round(tookMs / 1000)} s`);
  if (!out.success) failed++;
  else if (!VERDICT_CELL.test(body)) {
    failed++;
    console.error(`bench/${file}: no figure has a target (no \`met\`/\`missed\` cell)`);
  } else if (MISSED_CELL.test(body)) {
    missed.push(file);
    console.error(`bench/${file}: a figure missed its target`);
  }
  sections.set(file, [title, "", machine(started, load, tookMs), ...rest].join("\n"));
  console.log(body + "\n");
}

if (filter !== "" && previous.size === 0) {
  console.error("docs/benchmarks.md has no stamped sections yet: run `deno task bench` once whole");
  Deno.exit(failed || missed.length ? 1 : 0);
}
// Sections of benches that were not run this time stay as their own runs wrote them.
const every = [...Deno.readDirSync(`${root}bench`)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith("_bench.ts"))
  .sort();
const body = every.flatMap((file) => {
  const section = sections.get(file) ?? previous.get(file);
  return section ? [`<!-- bench:${file} -->\n${section}\n<!-- /bench:${file} -->`] : [];
});
await Deno.writeTextFile(
  docPath,
  `# Benchmarks\n\nWritten by \`deno task bench\` (bench/all.ts); do not edit by hand. Each section ` +
    `was measured in one run, stamped with its date and machine, beside its baseline from that ` +
    `same run.\n\n${body.join("\n\n")}\n`,
);
// The project's formatter owns the file's layout (tables aligned), so `deno task check` passes.
await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", docPath] }).output();
console.error(`times: ${took.join(", ")}`);
if (missed.length > 0) console.error(`targets missed in: ${missed.join(", ")}`);
Deno.exit(failed || missed.length ? 1 : 0);
