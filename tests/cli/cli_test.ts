import { assert, assertEquals } from "../support/assert.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { describeError, UsageError } from "../../src/base/errors.ts";
import { ConfigError } from "../../src/plan/config_error.ts";
import { formatPlanTable, planRecords } from "../../src/cli/plan_table.ts";
import { place } from "../../src/plan/placement.ts";
import { loadConfigFile } from "../../src/plan/load.ts";
import { startRedisServer } from "../support/redis_server.ts";
import { ROOT, runTm } from "../support/tm_command.ts";

const FIXTURES = "tests/fixtures/config/broken";
const SMOKE = "examples/smoke-test-5peer.yaml";

/** Runs `deno run -A main.ts <args>` from the repository root. */
const root = ROOT;

function tm(...args: string[]) {
  return runTm(root, ...args);
}

/** Runs tm in `cwd` (where a test run writes its log file). */
const tmIn = runTm;

function assertNoStackTrace(text: string) {
  assert(!text.includes("    at "), `a stack trace was printed:\n${text}`);
}

/** The tagged assignment of examples/smoke-test-5peer.yaml, as docs/config.md lists it. */
/** The smoke example's `bootstrap` lists. */
const SMOKE_BOOTSTRAP: Record<string, string[]> = {
  alice: [],
  bob: ["alice"],
  charlie: ["alice", "bob"],
  dave: ["alice"],
  eve: ["bob"],
};

const DOCUMENTED_ASSIGNMENT = [
  ["alice", "host-0", "192.168.1.10", 11986],
  ["bob", "host-1", "192.168.1.11", 11985],
  ["charlie", "host-0", "192.168.1.10", 11984],
  ["dave", "host-1", "192.168.1.11", 11984],
  ["eve", "host-0", "192.168.1.10", 11985],
].map(([peer, host, address, port]) => ({
  peer,
  host,
  address,
  port,
  image: "tm-ref-peer:latest",
  listen_addr: `/ip4/0.0.0.0/udp/${port}/quic-v1`,
  bootstrap: SMOKE_BOOTSTRAP[peer as string],
}));

Deno.test("tm validate --json prints exactly the documented assignment and nothing else", async () => {
  const { code, stdout, stderr } = await tm("validate", SMOKE, "--json");
  assertEquals(code, 0);
  assertEquals(stderr, "");
  const records = JSON.parse(stdout);
  assertEquals(records, DOCUMENTED_ASSIGNMENT);
  for (const record of records) {
    assertEquals(Object.keys(record), [
      "peer",
      "host",
      "address",
      "port",
      "image",
      "listen_addr",
      "bootstrap",
    ]);
  }
});

Deno.test("tm validate prints a summary and an aligned plan table", async () => {
  const { code, stdout, stderr } = await tm("validate", SMOKE);
  assertEquals(code, 0);
  assertEquals(stderr, "");
  const [summary, ...table] = stdout.split("\n");
  assert(
    new RegExp(`^${SMOKE}: valid\\. 5 peers on 2 hosts, 12 commands over 26 s, seed \\d+$`)
      .test(summary),
    summary,
  );
  assertEquals(table, [
    "",
    "PEER     HOST    ADDRESS        PORT  IMAGE               LISTEN ADDRESS",
    "alice    host-0  192.168.1.10  11986  tm-ref-peer:latest  /ip4/0.0.0.0/udp/11986/quic-v1",
    "bob      host-1  192.168.1.11  11985  tm-ref-peer:latest  /ip4/0.0.0.0/udp/11985/quic-v1",
    "charlie  host-0  192.168.1.10  11984  tm-ref-peer:latest  /ip4/0.0.0.0/udp/11984/quic-v1",
    "dave     host-1  192.168.1.11  11984  tm-ref-peer:latest  /ip4/0.0.0.0/udp/11984/quic-v1",
    "eve      host-0  192.168.1.10  11985  tm-ref-peer:latest  /ip4/0.0.0.0/udp/11985/quic-v1",
    "",
  ]);
});

Deno.test("tm validate says the timeline's length to the millisecond, not a float sum's digits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-validate-seconds-" });
  try {
    const config = `${dir}/seconds.yaml`;
    const text = await Deno.readTextFile(`${root}/examples/one-peer.yaml`);
    await Deno.writeTextFile(config, text.replace("- time: 3", `- time: ${0.1 * 12}`));
    const { code, stdout } = await tm("validate", config);
    assertEquals([code, stdout.split("\n")[0].replace(/, seed \d+$/, "")], [
      0,
      `${config}: valid. 1 peer on 1 host, 2 commands over 1.2 s`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tm validate accepts the one-peer example", async () => {
  const { code, stdout } = await tm("validate", "examples/one-peer.yaml", "--json");
  assertEquals(code, 0);
  assertEquals(JSON.parse(stdout), [{
    peer: "solo",
    host: "localhost",
    address: "localhost",
    port: 11984,
    image: "tm-ref-peer:latest",
    listen_addr: "/ip4/0.0.0.0/udp/11984/quic-v1",
    bootstrap: [],
  }]);
});

Deno.test("tm schema prints a JSON Schema that forbids unknown keys", async () => {
  const { code, stdout } = await tm("schema");
  assertEquals(code, 0);
  const schema = JSON.parse(stdout);
  assertEquals(schema.type, "object");
  assertEquals(schema.additionalProperties, false);
  assertEquals(schema.properties.peers.items.additionalProperties, false);
  assertEquals(schema.title, "tm test configuration");
});

Deno.test("tm --version prints the version from deno.json", async () => {
  const { code, stdout } = await tm("--version");
  assertEquals(code, 0);
  assertEquals(stdout, `${denoJson.version}\n`);
});

Deno.test("tm --help documents every flag, the subcommands and the exit codes", async () => {
  const { code, stdout } = await tm("--help");
  assertEquals(code, 0);
  for (
    const text of [
      "--tui",
      "--verbose",
      "--redis-url <url>",
      "--reset-hosts ",
      "--reset-hosts-all",
      "--yes",
      "--version",
      "validate",
      "schema",
      "Exit codes:",
      "130",
    ]
  ) {
    assert(stdout.includes(text), `--help lacks ${text}`);
  }
  const validate = await tm("validate", "--help");
  assertEquals(validate.code, 0);
  assert(validate.stdout.includes("--json"));
});

Deno.test("tm exits 2 with file:line:column and the YAML path for each kind of broken config", async () => {
  const files = [...Deno.readDirSync(FIXTURES)].map((entry) => entry.name).sort();
  assert(files.length >= 12, `only ${files.length} broken fixtures`);
  for (const name of files) {
    const file = `${FIXTURES}/${name}`;
    const expected = Deno.readTextFileSync(file).split("\n")[0].replace(/^# expect: FILE/, file);
    const { code, stdout, stderr } = await tm("validate", file);
    assertEquals(code, 2, `${name}: exit code`);
    assertEquals(stdout, "", `${name}: stdout`);
    assertEquals(stderr.split("\n")[0], expected, `${name}: first problem`);
    assertNoStackTrace(stderr);
  }
});

Deno.test("tm reports a config error the same way when running a test", async () => {
  const file = `${FIXTURES}/unknown-key-typo.yaml`;
  const { code, stderr } = await tm(file);
  assertEquals(code, 2);
  assert(stderr.startsWith(`${file}:18:5: peers[1].bootstarp: unknown field "bootstarp"`));
  assertNoStackTrace(stderr);
});

Deno.test("tm validate answers a file of 50,000 aliases at once: exit 2 at the first alias beyond 1000", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-cli-aliases-" });
  try {
    const file = `${dir}/aliases.yaml`;
    const lines = ["name: t", "redis: { port: 6379, image: &image redis:7-alpine }"];
    for (let i = 0; i < 50_000; i++) lines.push(`x${i}: *image`);
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const { code, stdout, stderr } = await tm("validate", file);
    assertEquals({ code, stdout }, { code: 2, stdout: "" });
    assertEquals(
      stderr,
      `${file}:1003:8: invalid YAML: more than 1000 aliases (*image); tm reads at most 1000 per file: repeat the value instead\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tm exits 2 for a missing file and a directory, without a stack trace", async () => {
  const missing = await tm("validate", "does-not-exist.yaml");
  assertEquals(missing.code, 2);
  assertEquals(missing.stderr, "does-not-exist.yaml: no such file\n");
  const directory = await tm("validate", "examples", "--verbose");
  assertEquals(directory.code, 2);
  assertEquals(directory.stderr, "examples: is a directory, not a config file\n");
});

Deno.test("tm exits 2 on bad usage, naming the mistake", async () => {
  const cases: [string[], string][] = [
    [[], "tm: no config file given"],
    [["--bogus", SMOKE], "tm: unknown option '--bogus'"],
    [[SMOKE, "--redis-url", "http://localhost:6379"], "expected a redis:// or rediss:// URL"],
    [[SMOKE, "--redis-url", "not a url"], "expected a URL such as redis://host:6379"],
    [
      [SMOKE, "--redis-url", "redis://h:6379/db1"],
      'the path of a Redis URL is a database number, not "db1"',
    ],
    [
      [SMOKE, "--redis-url", "redis://h:6379/-1"],
      'the path of a Redis URL is a database number, not "-1"',
    ],
    [[SMOKE, "--reset-hosts", "--reset-hosts-all"], "tm: --reset-hosts and --reset-hosts-all"],
    [[SMOKE, "--yes"], "tm: --yes only applies to --reset-hosts-all"],
    [[SMOKE, "--reset-hosts", "--tui"], "tm: --tui cannot be used with --reset-hosts"],
    [["validate"], "tm: missing required argument 'config'"],
    [["validate", SMOKE, "extra.yaml"], "tm: too many arguments"],
  ];
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await tm(...args);
    assertEquals(code, 2, `tm ${args.join(" ")}`);
    assertEquals(stdout, "");
    assert(stderr.includes(message), `tm ${args.join(" ")}: ${stderr}`);
    assertNoStackTrace(stderr);
  }
});

Deno.test("tm reports a failed run in its summary, exit 1, and the trace only with --verbose", async () => {
  // Port 1 has no Redis: the run fails at runtime (exit 1), not as a usage error.
  const args = [`${root}examples/one-peer.yaml`, "--redis-url", "redis://127.0.0.1:1"];
  const cwd = await Deno.makeTempDir({ prefix: "tm-cli-" });
  try {
    const quiet = await tmIn(cwd, ...args);
    assertEquals(quiet.code, 1);
    assert(/^FAILED: .*127\.0\.0\.1:1/m.test(quiet.stdout), quiet.stdout);
    assertNoStackTrace(quiet.stdout + quiet.stderr);
    const verbose = await tmIn(cwd, ...args, "--verbose");
    assertEquals(verbose.code, 1);
    assert(verbose.stderr.includes("    at "), verbose.stderr);
    assertNoStackTrace(verbose.stdout);
    const logs = [...Deno.readDirSync(cwd)].map((entry) => entry.name)
      .filter((name) => name.endsWith(".log"));
    assertEquals(logs.length, 2, "one log file per run");
    // Two runs in the same second get a file each (the second one `-2`).
    assert(logs.every((name) => /^one-peer-\d{4}(-\d\d){5}(-2)?\.log$/.test(name)), logs.join());
    // And a run record each, under tm-runs/ (docs/run-record.md).
    const records = [...Deno.readDirSync(`${cwd}/tm-runs`)].map((entry) => entry.name);
    assertEquals(records.length, 2, "one run record per run");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("tm --redis-url with a database the server lacks fails at once, naming it [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const cwd = await Deno.makeTempDir({ prefix: "tm-cli-db-" });
  try {
    const url = `${redis.url}/99`;
    const run = await tmIn(cwd, `${root}examples/one-peer.yaml`, "--redis-url", url);
    assertEquals(run.code, 1, run.stdout + run.stderr);
    const verdict = run.stdout.split("\n").find((line) => line.startsWith("FAILED"));
    assert(verdict?.includes(`database 99 of ${url} does not exist`), run.stdout);
    assert(!run.stdout.includes("connecting to hosts"), `hosts were contacted:\n${run.stdout}`);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("tm applies log_level to the log file and to the trace --verbose prints on stderr", async () => {
  // Port 1 has no Redis: the run fails at once, after a phase, an error and a trace (its stack).
  const cwd = await Deno.makeTempDir({ prefix: "tm-cli-" });
  try {
    const example = await Deno.readTextFile(`${root}examples/one-peer.yaml`);
    const runAt = async (level: string) => {
      const config = `${cwd}/${level}.yaml`;
      await Deno.writeTextFile(config, `${example}\nlog_level: ${level}\n`);
      const result = await tmIn(cwd, config, "--redis-url", "redis://127.0.0.1:1", "--verbose");
      const log = [...Deno.readDirSync(cwd)].find((e) => e.name.endsWith(".log"))!.name;
      const tags = new Set(
        (await Deno.readTextFile(`${cwd}/${log}`)).split("\n").map((line) =>
          /\] \S+\s+(\S+)/.exec(line)?.[1]
        ),
      );
      await Deno.remove(`${cwd}/${log}`);
      return { ...result, tags };
    };
    const info = await runAt("info");
    assertEquals(info.code, 1);
    assert(
      info.stderr.includes("    at "),
      `the failure's stack is an info trace:\n${info.stderr}`,
    );
    for (const tag of ["RUN", "PHASE", "ERROR", "TRACE", "RESULT"]) {
      assert(info.tags.has(tag), `${tag} at info: ${[...info.tags]}`);
    }
    const error = await runAt("error");
    assertEquals(error.code, 1);
    assertEquals(error.stderr, "", "no trace on stderr at log_level error");
    assert(error.tags.has("RUN") && error.tags.has("ERROR") && error.tags.has("RESULT"));
    assert(!error.tags.has("PHASE") && !error.tags.has("TRACE"), [...error.tags].join());
    // The console is not filtered: it shows the same run whatever the level.
    assert(/^FAILED: .*127\.0\.0\.1:1/m.test(error.stdout), error.stdout);
    assert(error.stdout.includes("── redis: getting Redis ready"), error.stdout);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("describeError() maps usage errors to 2 without a trace and others to 1", () => {
  assertEquals(describeError(new UsageError("bad flag")), { text: "tm: bad flag", exitCode: 2 });
  assertEquals(
    describeError(new ConfigError("c.yaml", [{ path: "name", line: 1, column: 7, message: "x" }]), {
      verbose: true,
    }),
    { text: "c.yaml:1:7: name: x", exitCode: 2 },
  );
  assertEquals(describeError(new Error("ssh failed\nmore")), {
    text: "tm: ssh failed",
    exitCode: 1,
  });
  assertEquals(describeError("a string"), { text: "tm: a string", exitCode: 1 });
  const traced = describeError(new Error("outer", { cause: new Error("inner") }), {
    verbose: true,
  });
  assertEquals(traced.exitCode, 1);
  assert(traced.text.startsWith("tm: outer\nError: outer\n    at "));
  assert(traced.text.includes("Caused by: Error: inner"));
});

Deno.test("formatPlanTable() aligns columns and right-aligns ports", async () => {
  const placed = place(await loadConfigFile("examples/one-peer.yaml"));
  assertEquals(formatPlanTable(placed).split("\n"), [
    "PEER  HOST       ADDRESS     PORT  IMAGE               LISTEN ADDRESS",
    "solo  localhost  localhost  11984  tm-ref-peer:latest  /ip4/0.0.0.0/udp/11984/quic-v1",
  ]);
  assertEquals(formatPlanTable([]), "PEER  HOST  ADDRESS  PORT  IMAGE  LISTEN ADDRESS");
  assertEquals(planRecords(placed)[0].listen_addr, "/ip4/0.0.0.0/udp/11984/quic-v1");
});
