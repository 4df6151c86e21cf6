/**
 * What each command loads when it starts (docs/architecture.md, Start-up): every npm package
 * loaded costs resident memory and start-up time, so a command statically imports only what it
 * uses and the rest is `await import`ed where it is needed. Read from the module graph
 * (`deno info --json`), following static imports only: what a module pulls in before any of its
 * code runs.
 */
import { assertEquals } from "../support/assert.ts";
import { ROOT } from "../support/tm_command.ts";

interface InfoDependency {
  code?: { specifier?: string };
  isDynamic?: boolean;
}
interface InfoModule {
  specifier: string;
  npmPackage?: string;
  error?: string;
  dependencies?: InfoDependency[];
}

/** The npm packages (`name`, no version) `module` loads through static imports alone. */
async function staticNpmPackages(module: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}/${module}`],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assertEquals(out.code, 0, `deno info ${module}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects?: Record<string, string>;
  };
  const broken = info.modules.filter((m) => m.error !== undefined).map((m) => m.error);
  assertEquals(broken, [], `deno info ${module}: every module found`);
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const packages = new Set<string>();
  const seen = new Set<string>();
  const pending = [...info.roots];
  while (pending.length > 0) {
    const given = pending.pop()!;
    const specifier = info.redirects?.[given] ?? given;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    const module = modules.get(specifier);
    const npm = module?.npmPackage ?? (specifier.startsWith("npm:") ? specifier : undefined);
    if (npm !== undefined) {
      // "npm:/ink@8.0.0", "@commander-js/extra-typings@15.1.0_commander@15.1.0" → the name.
      packages.add(npm.replace(/^npm:\/?/, "").match(/^(@[^/@]+\/)?[^/@]+/)![0]);
      continue;
    }
    for (const dependency of module?.dependencies ?? []) {
      const next = dependency.code?.specifier;
      if (next !== undefined && dependency.isDynamic !== true) pending.push(next);
    }
  }
  return [...packages].sort();
}

/** The packages that only some commands need; none of them is loaded by what does not. */
const CLIENTS = ["docker-modem", "ioredis", "ssh2"];
const VIEWS = ["ink", "ink-spinner", "react"];
const CONFIG = ["re2js", "yaml", "zod"];

const loaded = (packages: string[], of: string[]) => packages.filter((p) => of.includes(p));

Deno.test("src/cli/cli.ts loads only commander before a command runs: tm --version parses no config and opens no client", async () => {
  assertEquals(await staticNpmPackages("src/cli/cli.ts"), ["@commander-js/extra-typings"]);
});

Deno.test("tm validate (validate_command.ts) loads the config parser but no Docker, SSH or Redis client and no view", async () => {
  const packages = await staticNpmPackages("src/cli/validate_command.ts");
  assertEquals(loaded(packages, CLIENTS), []);
  assertEquals(loaded(packages, VIEWS), []);
  assertEquals(loaded(packages, CONFIG), CONFIG);
});

Deno.test("tm <config> without a terminal (run_command.ts, plain_console.ts) loads neither ink nor react", async () => {
  assertEquals(loaded(await staticNpmPackages("src/cli/run_command.ts"), VIEWS), []);
  assertEquals(loaded(await staticNpmPackages("src/ui/plain_console.ts"), VIEWS), []);
});

Deno.test("the live console (console.tsx) is what loads ink and react", async () => {
  // The check above could pass by reading the graph wrong; this one says it reads it right.
  assertEquals(loaded(await staticNpmPackages("src/ui/console.tsx"), VIEWS), VIEWS);
});
