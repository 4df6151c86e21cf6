/**
 * Runs every `bench/*_bench.ts` as its own process and writes docs/benchmarks.md.
 *
 * Convention: a benchmark prints one Markdown section on stdout (a `## title` line, what
 * was measured, a table of figures with each target and whether it was met) and exits 0
 * when it could measure, whatever the figures; diagnostics go to stderr.
 * `deno task bench [name-filter]` runs the ones whose file name contains the filter.
 */
const filter = Deno.args[0] ?? "";
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
const machine = [
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores (${cpu}), ${
    Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
  } GiB`,
  `- Deno ${Deno.version.deno}, ${await text("redis-server", ["--version"])}`,
  `- Docker: ${await text("docker", [
    "version",
    "--format",
    "client {{.Client.Version}}, engine {{.Server.Version}}",
  ])}`,
].join("\n");

const sections: string[] = [];
let failed = 0;
for (const file of files) {
  console.error(`running bench/${file} ...`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}bench/${file}`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const body = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    failed++;
    sections.push(`## ${file}\n\nFailed to run (exit ${out.code}).\n\n${body}`);
  } else sections.push(body);
  console.log(body + "\n");
}

const doc =
  `# Benchmarks\n\nWritten by \`deno task bench\` (bench/all.ts); do not edit by hand.\n\n${machine}\n\n${
    sections.join("\n\n")
  }\n`;
if (filter === "") await Deno.writeTextFile(`${root}docs/benchmarks.md`, doc);
else console.error("(a filtered run does not rewrite docs/benchmarks.md)");
Deno.exit(failed ? 1 : 0);
