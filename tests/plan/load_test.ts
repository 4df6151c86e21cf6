import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { formatPath, loadConfigFile, parseConfig } from "../../src/plan/load.ts";
import { ConfigError, type ConfigProblem } from "../../src/plan/config_error.ts";
import { UsageError } from "../../src/base/errors.ts";
import { runTm } from "../support/tm_command.ts";

/** A config whose second key is a complex one (`? …`) that the yaml library writes on 3 lines. */
const COMPLEX_KEY = "name: t\n?   startup: 60 #\n";

/** A minimal valid config; `extra` lines are appended at the top level. */
function minimal(extra = ""): string {
  return `name: t
redis:
  port: 6379
  image: redis:7-alpine
hosts:
  - address: 10.0.0.1
    ssh_user: tm
    ssh_auth: agent
    base_port: 11984
peers:
  - name: alice
    image: peer:1
commands: []
${extra}`;
}

const HOSTS = `hosts:
  - address: 10.0.0.1
    ssh_user: tm
    ssh_auth: agent
    base_port: 11984
`;

/** parseConfig must throw a ConfigError; returns its problems. */
function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, "t.yaml");
  } catch (error) {
    if (error instanceof ConfigError) {
      assertEquals(error.file, "t.yaml");
      assertEquals(error.message.split("\n").length, error.problems.length);
      return error.problems;
    }
    throw error;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

Deno.test("parseConfig() reads every field of a full config", () => {
  const config = parseConfig(
    `name: full
timeout: { startup: 90, shutdown: 15.5 }
redis: { port: 6400, image: redis:7-alpine, advertise: "10.0.0.9:6400" }
images: [peer:1, peer:2]
remove_images: true
peer_environment: { A: "1" }
hosts:
  - name: h0
    address: 10.0.0.1
    ssh_user: tm
    ssh_auth: ~/.ssh/id_ed25519
    ssh_port: 2222
    host_key_check: "off"
    base_port: 12000
    tags: [gpu, fast]
peers:
  - name: alice
    image: peer:1
    bootstrap: [bob]
    environment: { B: "2" }
    runs_on: [gpu]
  - { name: bob, image: peer:2 }
commands:
  - { time: 1.5, peer: alice, command: connect }
log_level: debug
expect:
  - { peer: bob, status: connected, by: 3 }
fail_fast: true
seed: 8812
`,
    "full.yaml",
  );
  assertEquals(config, {
    name: "full",
    timeout: { startup: 90, shutdown: 15.5 },
    redis: { port: 6400, image: "redis:7-alpine", advertise: "10.0.0.9:6400" },
    images: ["peer:1", "peer:2"],
    remove_images: true,
    peer_environment: { A: "1" },
    hosts: [{
      connection: "ssh",
      name: "h0",
      address: "10.0.0.1",
      ssh_user: "tm",
      ssh_auth: "~/.ssh/id_ed25519",
      ssh_port: 2222,
      host_key_check: "off",
      base_port: 12000,
      tags: ["gpu", "fast"],
    }],
    peers: [
      {
        name: "alice",
        image: "peer:1",
        bootstrap: ["bob"],
        environment: { B: "2" },
        runs_on: ["gpu"],
      },
      { name: "bob", image: "peer:2", bootstrap: [], environment: {}, runs_on: [] },
    ],
    commands: [{ time: 1.5, peer: "alice", command: "connect" }],
    log_level: "debug",
    expect: [{ peer: "bob", status: "connected", by: 3 }],
    fail_fast: true,
    seed: 8812,
  });
});

Deno.test("parseConfig() applies every default when the optional fields are missing", () => {
  const config = parseConfig(minimal(), "t.yaml");
  assertEquals(config.timeout, { startup: 60, shutdown: 30 });
  assertEquals(config.images, []);
  assertEquals(config.remove_images, false);
  assertEquals(config.peer_environment, {});
  assertEquals(config.log_level, "info");
  assertEquals(config.redis.advertise, undefined);
  assertEquals(config.hosts[0].name, undefined);
  const [host] = config.hosts;
  assert(host.connection === "ssh", "a host without connection is an SSH host");
  assertEquals(host.ssh_port, 22);
  assertEquals(host.host_key_check, "accept-new");
  assertEquals(config.hosts[0].tags, []);
  assertEquals(config.peers[0].bootstrap, []);
  assertEquals(config.peers[0].environment, {});
  assertEquals(config.peers[0].runs_on, []);
});

Deno.test("parseConfig() takes a connection: local host with no SSH fields, address localhost", () => {
  const config = parseConfig(
    "name: t\nredis: {port: 6399, image: r}\n" +
      "hosts:\n  - {connection: local, base_port: 12000}\npeers: []\ncommands: []\n",
    "t.yaml",
  );
  assertEquals(config.hosts, [{
    connection: "local",
    address: "localhost",
    base_port: 12000,
    tags: [],
  }]);
});

Deno.test("parseConfig() defaults the other timeout when only one is given", () => {
  assertEquals(parseConfig(minimal("timeout: { startup: 5 }"), "t.yaml").timeout, {
    startup: 5,
    shutdown: 30,
  });
  assertEquals(parseConfig(minimal("timeout:\n  shutdown: 7"), "t.yaml").timeout, {
    startup: 60,
    shutdown: 7,
  });
});

Deno.test("parseConfig() accepts both environment syntaxes and keeps = inside values", () => {
  const asList = parseConfig(
    minimal("peer_environment:\n  - A=1\n  - URL=http://x/?a=b&c=d\n  - EMPTY="),
    "t.yaml",
  );
  assertEquals(asList.peer_environment, { A: "1", URL: "http://x/?a=b&c=d", EMPTY: "" });
  const asMap = parseConfig(
    minimal("peer_environment:\n  A: 1\n  FLAG: true\n  URL: http://x/?a=b\n  EMPTY: ''"),
    "t.yaml",
  );
  assertEquals(asMap.peer_environment, { A: "1", FLAG: "true", URL: "http://x/?a=b", EMPTY: "" });
});

Deno.test("parseConfig() takes runs_on as one tag or a list, sorted and without repeats", () => {
  const text = (runsOn: string) =>
    minimal().replace(
      "hosts:\n  - address: 10.0.0.1",
      "hosts:\n  - tags: [a, b]\n    address: 10.0.0.1",
    )
      .replace("    image: peer:1", `    image: peer:1\n    runs_on: ${runsOn}`);
  assertEquals(parseConfig(text("a"), "t.yaml").peers[0].runs_on, ["a"]);
  assertEquals(parseConfig(text("[b, a, b]"), "t.yaml").peers[0].runs_on, ["a", "b"]);
  assertEquals(parseConfig(text("[]"), "t.yaml").peers[0].runs_on, []);
});

Deno.test("parseConfig() accepts each log level and rejects others at their line", () => {
  for (const level of ["error", "warn", "info", "debug", "trace"]) {
    assertEquals(parseConfig(minimal(`log_level: ${level}`), "t.yaml").log_level, level);
  }
  assertEquals(problemsOf(minimal("log_level: wran")), [{
    path: "log_level",
    line: 14,
    column: 12,
    message: 'must be one of error, warn, info, debug, trace; got "wran" (did you mean warn?)',
  }]);
  assertEquals(
    problemsOf(minimal("log_level: verbose"))[0].message,
    'must be one of error, warn, info, debug, trace; got "verbose"',
  );
});

Deno.test("parseConfig() keeps commands in file order (the engine's timeline sorts them)", () => {
  const config = parseConfig(
    minimal().replace(
      "commands: []",
      `commands:
  - { time: 5, peer: alice, command: late }
  - { time: 1, peer: alice, command: first }
  - { time: 3, peer: alice, command: a }
  - { time: 1, peer: alice, command: second }
  - { time: 3, peer: alice, command: b }`,
    ),
    "t.yaml",
  );
  assertEquals(config.commands.map((c) => "command" in c && c.command), [
    "late",
    "first",
    "a",
    "second",
    "b",
  ]);
});

Deno.test("parseConfig() names an unknown key, its line and the closest known key", () => {
  const text = minimal().replace("    image: peer:1", "    image: peer:1\n    bootstarp: []");
  assertEquals(problemsOf(text), [{
    path: "peers[0].bootstarp",
    line: 13,
    column: 5,
    message: 'unknown field "bootstarp" (did you mean bootstrap?)',
  }]);
  const far = problemsOf(minimal("colour: red"));
  assertEquals(far[0].path, "colour");
  assert(far[0].message.startsWith('unknown field "colour" (known fields: name, timeout, redis'));
});

Deno.test("parseConfig() points a missing required field at the map that lacks it", () => {
  assertEquals(problemsOf(minimal().replace("    ssh_user: tm\n", "")), [{
    path: "hosts[0].ssh_user",
    line: 6,
    column: 5,
    message: "is required but missing",
  }]);
  assertEquals(problemsOf(minimal().replace("name: t\n", "")), [{
    path: "name",
    line: 1,
    column: 1,
    message: "is required but missing",
  }]);
});

Deno.test("parseConfig() reports each schema error with its path and line:column", () => {
  const cases: [string, string, ConfigProblem][] = [
    ["name: t", "name: ''", { path: "name", line: 1, column: 7, message: "must not be empty" }],
    ["name: t", "name: a/b", {
      path: "name",
      line: 1,
      column: 7,
      message: 'must not contain / or \\, got "a/b"',
    }],
    ["name: t", 'name: "a\\eb"', {
      path: "name",
      line: 1,
      column: 7,
      message: "must not contain control characters (U+001B at character 2)",
    }],
    ["name: t", 'name: "a\\0b"', {
      path: "name",
      line: 1,
      column: 7,
      message: "must not contain control characters (U+0000 at character 2)",
    }],
    ["  port: 6379", "  port: 0", {
      path: "redis.port",
      line: 3,
      column: 9,
      message: "must be at least 1, got 0",
    }],
    ["  port: 6379", "  port: '6379'", {
      path: "redis.port",
      line: 3,
      column: 9,
      message: 'expected a number, got "6379"',
    }],
    ["  image: redis:7-alpine", "  image:", {
      path: "redis.image",
      line: 4,
      column: 3,
      message: "is empty; expected a string",
    }],
    ["    base_port: 11984", "    base_port: 65536", {
      path: "hosts[0].base_port",
      line: 9,
      column: 16,
      message: "must be at most 65535, got 65536",
    }],
    ["    base_port: 11984", "    base_port: 11984.5", {
      path: "hosts[0].base_port",
      line: 9,
      column: 16,
      message: "expected a whole number, got 11984.5",
    }],
    ["    ssh_auth: agent", "    ssh_auth: agent\n    host_key_check: strict", {
      path: "hosts[0].host_key_check",
      line: 9,
      column: 21,
      message: 'must be one of accept-new, off; got "strict"',
    }],
    ["    ssh_auth: agent", "    ssh_auth: agent\n    tags: [gpu, 'bad tag']", {
      path: "hosts[0].tags[1]",
      line: 9,
      column: 17,
      message: 'not a valid tag, got "bad tag"',
    }],
    [HOSTS, "hosts: []\n", {
      path: "hosts",
      line: 5,
      column: 8,
      message: "must list at least 1 entry",
    }],
    ["  - name: alice", "  - name: -alice", {
      path: "peers[0].name",
      line: 11,
      column: 11,
      message:
        'must start with a letter or digit and use only letters, digits, _ . - (at most 63), got "-alice"',
    }],
    ["    image: peer:1", "    image: peer:1\n    runs_on: 7", {
      path: "peers[0].runs_on",
      line: 13,
      column: 14,
      message: "expected a tag or a list of tags, got 7",
    }],
    ["    image: peer:1", "    image: peer:1\n    environment: [A=1, B]", {
      path: "peers[0].environment[1]",
      line: 13,
      column: 24,
      message: 'expected KEY=VALUE, got "B"',
    }],
    ["    image: peer:1", "    image: peer:1\n    environment: { 1A: x }", {
      path: 'peers[0].environment["1A"]',
      line: 13,
      column: 20,
      message: 'not a valid variable name: "1A"',
    }],
    ["    image: peer:1", "    image: peer:1\n    environment: { A: }", {
      path: "peers[0].environment.A",
      line: 13,
      column: 20,
      message: 'is empty; expected a string, number or true/false (write "" for an empty string)',
    }],
    ["    image: peer:1", "    image: peer:1\n    environment: A=1", {
      path: "peers[0].environment",
      line: 13,
      column: 18,
      message: 'expected a map of NAME: value or a list of NAME=value strings, got "A=1"',
    }],
    ["commands: []", "commands:", {
      path: "commands",
      line: 13,
      column: 1,
      message: "is empty; expected a list (write [] for an empty list)",
    }],
    ["commands: []", "commands: [{ time: -1, peer: alice, command: x }]", {
      path: "commands[0].time",
      line: 13,
      column: 20,
      message: "must be at least 0, got -1",
    }],
    ["commands: []", "commands: [{ time: 1, peer: alice, command: '' }]", {
      path: "commands[0].command",
      line: 13,
      column: 45,
      message: "must not be empty",
    }],
    ["name: t", "name: t\nremove_images: yes", {
      path: "remove_images",
      line: 2,
      column: 16,
      message: 'expected true or false, got "yes"',
    }],
    ["name: t", "name: t\ntimeout: { startup: 0 }", {
      path: "timeout.startup",
      line: 2,
      column: 21,
      message: "must be greater than 0, got 0",
    }],
  ];
  for (const [from, to, expected] of cases) {
    const text = minimal().replace(from, to);
    assert(text !== minimal(), `the case ${to} did not change the config`);
    assertEquals(problemsOf(text), [expected], `for ${JSON.stringify(to)}`);
  }
});

Deno.test("parseConfig() reports every problem at once, in file order", () => {
  const problems = problemsOf(`name: t
redis: { port: 99999, image: redis:7-alpine }
hosts:
  - { address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 1000, tagz: [a] }
peers:
  - { name: alice, image: peer:1, bootstrap: [bob] }
  - { name: alice, image: peer:1 }
commands:
  - { time: 1, peer: carol, command: connect }
log_level: loud
`);
  assertEquals(problems.map((p) => `${p.line}:${p.column} ${p.path}`), [
    "2:16 redis.port",
    "4:74 hosts[0].tagz",
    "6:47 peers[0].bootstrap[0]",
    "7:13 peers[1].name",
    "9:22 commands[0].peer",
    "10:12 log_level",
  ]);
  assertEquals(problems[1].message, 'unknown field "tagz" (did you mean tags?)');
  assertEquals(problems[2].message, 'unknown peer "bob"');
  assertEquals(problems[3].message, 'duplicate peer name "alice" (first used by peers[0])');
});

Deno.test("parseConfig() skips cross checks that a broken entry would make wrong", () => {
  // peers[1] fails the schema, so "bob" is not known for sure: no "unknown peer" claims.
  const problems = problemsOf(
    minimal().replace(
      "commands: []",
      "commands: [{ time: 1, peer: bob, command: connect }]",
    ).replace("    image: peer:1", "    image: peer:1\n  - { name: bob, image: '' }"),
  );
  assertEquals(problems.map((p) => p.path), ["peers[1].image"]);
});

Deno.test("parseConfig() gives invalid YAML, an empty file and a non-map each its own message", () => {
  assertEquals(problemsOf("name: [t\n"), [{
    path: "",
    line: 2,
    column: 1,
    message:
      "invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
  }]);
  assertEquals(problemsOf("name: a\nname: b\n"), [{
    path: "",
    line: 2,
    column: 1,
    message: 'invalid YAML: duplicate key "name" (each key may appear once per map)',
  }]);
  assertEquals(problemsOf("name: a\n---\nname: b\n")[0].message.split(":")[0], "invalid YAML");
  assertEquals(problemsOf("name: *anchor\n"), [{
    path: "",
    line: 1,
    column: 7,
    message: "invalid YAML: alias *anchor refers to no anchor &anchor",
  }]);
  const empty =
    "the file is empty (nothing but blank lines or comments); a tm config is a map with name, redis, hosts, peers and commands";
  assertEquals(problemsOf(""), [{ path: "", message: empty }]);
  assertEquals(problemsOf("# just a comment\n\n"), [{ path: "", message: empty }]);
  assertEquals(problemsOf("- name: t\n"), [{
    path: "",
    line: 1,
    column: 1,
    message:
      "the top level is a list, but a tm config is a map with name, redis, hosts, peers and commands",
  }]);
  assertEquals(
    problemsOf("just words\n")[0].message.split(",")[0],
    'the top level is a single value ("just words")',
  );
});

Deno.test("ConfigError is a UsageError whose message is one line per problem", () => {
  const error = new ConfigError("x.yaml", [
    { path: "peers[2].runs_on", line: 12, column: 7, message: "no host" },
    { path: "", message: "the file is empty" },
    { path: "name", message: "no line" },
  ]);
  assert(error instanceof UsageError);
  assertEquals(
    error.message,
    [
      "x.yaml:12:7: peers[2].runs_on: no host",
      "x.yaml: the file is empty",
      "x.yaml: name: no line",
    ].join("\n"),
  );
});

Deno.test("formatPath() writes indexes in brackets and quotes keys that are not words", () => {
  assertEquals(formatPath(["peers", 2, "runs_on"]), "peers[2].runs_on");
  assertEquals(formatPath(["peer_environment", "A B"]), 'peer_environment["A B"]');
  assertEquals(formatPath([]), "");
});

Deno.test("loadConfigFile() reads a file and names missing files, directories and bad bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-config-test-" });
  try {
    const good = `${dir}/good.yaml`;
    await Deno.writeTextFile(good, minimal());
    assertEquals((await loadConfigFile(good)).name, "t");

    const missing = await assertRejects(() => loadConfigFile(`${dir}/nope.yaml`), ConfigError);
    assertEquals(missing.message, `${dir}/nope.yaml: no such file`);

    const directory = await assertRejects(() => loadConfigFile(dir), ConfigError);
    assertEquals(directory.message, `${dir}: is a directory, not a config file`);

    await Deno.writeFile(`${dir}/latin1.yaml`, new Uint8Array([0x6e, 0x3a, 0x20, 0xe9, 0x0a]));
    const binary = await assertRejects(() => loadConfigFile(`${dir}/latin1.yaml`), ConfigError);
    assertEquals(binary.message, `${dir}/latin1.yaml: is not UTF-8 text`);

    await Deno.writeTextFile(`${dir}/empty.yaml`, "");
    const empty = await assertRejects(() => loadConfigFile(`${dir}/empty.yaml`), ConfigError);
    assert(empty.message.startsWith(`${dir}/empty.yaml: the file is empty`));

    if (Deno.uid() !== 0) {
      await Deno.writeTextFile(`${dir}/secret.yaml`, minimal());
      await Deno.chmod(`${dir}/secret.yaml`, 0o000);
      const denied = await assertRejects(() => loadConfigFile(`${dir}/secret.yaml`), ConfigError);
      assertEquals(denied.message, `${dir}/secret.yaml: cannot read the file: permission denied`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfigFile() loads both examples", async () => {
  const smoke = await loadConfigFile("examples/smoke-test-5peer.yaml");
  assertEquals(smoke.peers.map((p) => p.name), ["alice", "bob", "charlie", "dave", "eve"]);
  assertEquals(smoke.peers[0].environment, { LOG_LEVEL: "debug", FEATURES: "a=1,b=2" });
  assertEquals(smoke.peers[3].environment, { GREETING: "dave says hi" });
  const one = await loadConfigFile("examples/one-peer.yaml");
  assertEquals(one.peers.length, 1);
});

Deno.test("loadConfigFile() loads every examples/smoke-test-1-<language>-peer.yaml", async () => {
  const files = [...Deno.readDirSync("examples")].map((e) => e.name)
    .filter((n) => /^smoke-test-1-\w+-peer\.yaml$/.test(n));
  assertEquals(files.includes("smoke-test-1-typescript-peer.yaml"), true, files.join(", "));
  for (const file of files) {
    const config = await loadConfigFile(`examples/${file}`);
    assertEquals(config.peers.length > 0, true, file);
  }
});

Deno.test("parseConfig() rejects a NUL in an environment value at its line, in both syntaxes", () => {
  // A NUL cannot cross exec(): docker would fail mid-run and take the host's SSH connection down.
  const problems = problemsOf(minimal('peer_environment:\n  A: "x\\0y"'));
  assertEquals(problems, [{
    path: "peer_environment.A",
    line: 15,
    column: 6,
    message: "contains a NUL character (\\0), which no environment variable can carry",
  }]);
  const listed = problemsOf(minimal('peer_environment:\n  - "B=x\\0y"'));
  assertEquals(listed, [{
    path: "peer_environment[0]",
    line: 15,
    column: 5,
    message: "contains a NUL character (\\0), which no environment variable can carry",
  }]);
});

/** `minimal()` plus a list of `count` aliases of one anchor, each on its own line from line 16. */
function manyAliases(count: number): string {
  return minimal("x_anchor: &a value\nx_list:\n" + "  - *a\n".repeat(count));
}

Deno.test("parseConfig() rejects more than 1000 aliases at the first one beyond, without resolving them", () => {
  // 50,000 aliases once took minutes (each resolution scanned the ones before) and ended in an
  // unpositioned ReferenceError; now the token stream is counted and stops at alias 1001.
  assertEquals(problemsOf(manyAliases(50_000)), [{
    path: "",
    line: 16 + 1000,
    column: 5,
    message:
      "invalid YAML: more than 1000 aliases (*a); tm reads at most 1000 per file: repeat the value instead",
  }]);
  const many = "x_anchors:\n" + Array.from({ length: 1001 }, (_, i) => `  - &a${i} v\n`).join("");
  assertEquals(problemsOf(minimal(many)).map((p) => [p.line, p.column, p.message.slice(0, 36)]), [
    [14 + 1001, 5, "invalid YAML: more than 1000 anchors"],
  ]);
});

Deno.test("parseConfig() accepts 1000 aliases, resolved to the latest anchor before each", () => {
  const text = minimal("peer_environment: *env")
    .replace(
      "  - name: alice\n    image: peer:1\n",
      "  - name: &p alice\n    image: peer:1\n    environment: &env { A: one }\n",
    )
    .replace(
      "commands: []\n",
      "commands:\n" + "  - { time: 0, peer: *p, command: connect }\n".repeat(999),
    );
  const config = parseConfig(text, "t.yaml");
  assertEquals(config.peer_environment, { A: "one" });
  assertEquals(config.commands.length, 999);
  assertEquals(config.commands[998], { time: 0, peer: "alice", command: "connect" });
  const redefined = minimal("x1: &v first\nx2: *v\nx3: &v second\npeer_environment: { B: *v }");
  assertEquals(problemsOf(redefined).map((p) => p.path), ["x1", "x2", "x3"]);
  const latest = minimal("peer_environment: { A: &v first, B: *v, C: &v second, D: *v }");
  assertEquals(parseConfig(latest, "t.yaml").peer_environment, {
    A: "first",
    B: "first",
    C: "second",
    D: "second",
  });
});

Deno.test("parseConfig() rejects aliases whose expansion explodes or cycles, at the alias", () => {
  // "Billion laughs": 9 levels of 10 aliases each stand for 10^9 values.
  const levels = ["x0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (let i = 1; i < 9; i++) {
    levels.push(`x${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(", ")}]`);
  }
  const [problem] = problemsOf(minimal(levels.join("\n")));
  assertEquals(problem.path, "");
  assert(
    problem.message.startsWith("invalid YAML: aliases expand to more than 100000 values by *l"),
    problem.message,
  );
  assertEquals(typeof problem.line, "number");
  assertEquals(problemsOf(minimal("x: &a [1, *a]")), [{
    path: "",
    line: 14,
    column: 11,
    message: "invalid YAML: alias *a refers to a node that contains it (a cycle)",
  }]);
});

Deno.test("parseConfig() rejects a test name too long for the log file name, at the name", () => {
  // The log file is `<name>-YYYY-MM-DD-HH-MM-SS.log`; file names hold 255 bytes.
  const message =
    "must be at most 200 bytes (UTF-8) to fit the log file name <name>-YYYY-MM-DD-HH-MM-SS.log";
  assertEquals(problemsOf(minimal().replace("name: t\n", `name: ${"x".repeat(300)}\n`)), [{
    path: "name",
    line: 1,
    column: 7,
    message: `${message}; this one has 300`,
  }]);
  // 67 three-byte characters are 201 bytes.
  assertEquals(
    problemsOf(minimal().replace("name: t\n", `name: ${"日".repeat(67)}\n`))[0].message,
    `${message}; this one has 201`,
  );
  assertEquals(
    parseConfig(minimal().replace("name: t\n", `name: ${"x".repeat(200)}\n`), "t.yaml").name.length,
    200,
  );
});

Deno.test("loadConfigFile() stops reading past 4 MiB: /dev/zero and a huge file end at once", async () => {
  const limit = "is larger than 4 MiB; a tm config is a few kilobytes (is this the right file?)";
  const zero = await assertRejects(() => loadConfigFile("/dev/zero"), ConfigError);
  assertEquals(zero.message, `/dev/zero: ${limit}`);
  const dir = await Deno.makeTempDir({ prefix: "tm-config-test-" });
  try {
    const huge = `${dir}/huge.yaml`;
    await Deno.writeTextFile(huge, minimal("# " + "x".repeat(4 * 1024 * 1024) + "\n"));
    const error = await assertRejects(() => loadConfigFile(huge), ConfigError);
    assertEquals(error.message, `${huge}: ${limit}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseConfig() on a top level that is an alias with no anchor (`*:`) reports it at 1:1 instead of throwing the yaml library's ReferenceError", () => {
  const error = (() => {
    try {
      parseConfig("*:\n", "c.yaml");
    } catch (error) {
      return error;
    }
  })();
  assert(error instanceof ConfigError, String(error));
  assertEquals(error.problems, [{
    path: "",
    line: 1,
    column: 1,
    message: "invalid YAML: alias *: refers to no anchor &:",
  }]);
});

Deno.test("parseConfig() reports an unknown complex key that spans lines on one line, its newlines escaped", () => {
  const error = (() => {
    try {
      parseConfig(COMPLEX_KEY, "c.yaml");
    } catch (error) {
      return error;
    }
  })();
  assert(error instanceof ConfigError, String(error));
  const unknown = error.message.split("\n").filter((line) => line.includes("unknown field"));
  assertEquals(unknown.length, 1, error.message);
  const key = '"{\\n  startup: 60 #\\n}"';
  assert(unknown[0].startsWith(`c.yaml:1:1: [${key}]: unknown field ${key} (known`), unknown[0]);
});

Deno.test("tm validate on a complex key prints one line per problem and nothing of the yaml library's own [subprocess]", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-load-test-" });
  try {
    await Deno.writeTextFile(`${dir}/c.yaml`, COMPLEX_KEY);
    const result = await runTm(dir, "validate", "c.yaml");
    assertEquals(result.code, 2, result.stderr);
    const lines = result.stderr.trimEnd().split("\n");
    assertEquals(lines.filter((line) => !line.startsWith("c.yaml:")), [], result.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `minimal()` with these peers and commands (YAML text at their top-level keys). */
function grouped(peers: string, commands = "commands: []", extra = ""): string {
  return `name: t
redis: { port: 6379, image: redis:7-alpine }
${HOSTS}peers:
${peers}
${commands}
${extra}`;
}

Deno.test("parseConfig() points at a selector that selects no peer, naming the peers folded", () => {
  const text = grouped(
    "  - { name: node, count: 40, image: peer:1 }\n  - { name: alice, image: peer:1 }",
    'commands:\n  - { time: 1, peer: "node-[41-50]", command: connect }',
  );
  assertEquals(problemsOf(text), [{
    path: "commands[0].peer",
    line: 12,
    column: 22,
    message: '"node-[41-50]" selects no peer (the peers: node-[1-40], alice)',
  }]);
});

Deno.test("parseConfig() reports unmatched and malformed selectors wherever peers are named", () => {
  const text = grouped(
    '  - { name: node, count: 3, image: peer:1, bootstrap: ["seed-*"] }',
    `commands:
  - { time: 1, fault: kill, peers: ["node-[5-9]"] }
  - { time: 2, fault: partition, groups: [["node-1"], ["node-[2-"]] }`,
    'expect:\n  - { peer: "nod?-9", status: connected }',
  );
  assertEquals(problemsOf(text).map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`), [
    '9:56 peers[0].bootstrap[0]: "seed-*" selects no peer (the peers: node-[1-3])',
    '11:37 commands[0].peers[0]: "node-[5-9]" selects no peer (the peers: node-[1-3])',
    '12:56 commands[1].groups[1][0]: "node-[2-": [ is not closed by ]',
    '14:13 expect[0].peer: "nod?-9" selects no peer (the peers: node-[1-3])',
  ]);
});

Deno.test("parseConfig() refuses a group whose names collide or grow past 63 characters", () => {
  const long = "n".repeat(60);
  const problems = problemsOf(grouped(
    `  - { name: node-2, image: peer:1 }
  - { name: node, count: 3, image: peer:1 }
  - { name: ${long}, count: 1000, image: peer:1 }`,
  ));
  assertEquals(problems.map((p) => [p.path, p.message]), [
    [
      "peers[1].name",
      'the group\'s peer "node-2" (count: 3) is already a peer of peers[0]; rename one of them',
    ],
    [
      "peers[2].name",
      `with count: 1000 the last peer is named "${long}-1000", longer than 63 characters: ` +
      "shorten the name to at most 58",
    ],
  ]);
});

Deno.test("parseConfig() refuses count outside 1-10,000 and random larger than the candidates", () => {
  assertEquals(
    problemsOf(grouped("  - { name: node, count: 10001, image: peer:1 }"))[0].message,
    "must be at most 10000, got 10001",
  );
  const problems = problemsOf(grouped(
    `  - { name: seed, count: 2, image: peer:1 }
  - { name: node, count: 5, image: peer:1, bootstrap: { random: 3, from: "seed-*" } }
  - { name: all, count: 2, image: peer:1, bootstrap: { random: 9 } }`,
  ));
  assertEquals(problems.map((p) => [p.path, p.message]), [
    [
      "peers[1].bootstrap.random",
      'random: 3 needs 3 other peers selected by "seed-*" for each peer, but there are only 2',
    ],
    [
      "peers[2].bootstrap.random",
      "random: 9 needs 9 other peers for each peer, but there are only 8",
    ],
  ]);
});

Deno.test("parseConfig() follows a selector through the timeline: a peer of a group killed", () => {
  const problems = problemsOf(grouped(
    "  - { name: node, count: 3, image: peer:1 }",
    `commands:
  - { time: 1, fault: kill, peer: "node-[2-3]" }
  - { time: 2, peer: "node-*", command: connect }`,
  ));
  assertEquals(problems.map((p) => [p.path, p.message]), [[
    "commands[1].peer",
    "node-2 is killed (commands[0] at 1s) and not started again before this command, which it " +
    "could not receive; add a fault: start for node-2 first",
  ]]);
});

Deno.test("parseConfig() refuses a peer two partition groups select", () => {
  const problems = problemsOf(grouped(
    "  - { name: node, count: 4, image: peer:1 }",
    `commands:
  - { time: 1, fault: partition, groups: [["node-[1-2]"], ["node-*"]] }`,
  ));
  assertEquals(problems.map((p) => [p.path, p.message]), [[
    "commands[0].groups[1][0]",
    '"node-1" is already in groups[0]; a peer belongs to at most one group',
  ]]);
});

Deno.test("parseConfig() reports a command's malformed selector once, and follows the rest of the timeline without it", () => {
  const text = grouped(
    "  - { name: node, count: 3, image: peer:1 }",
    'commands:\n  - { time: 1, peer: "node-[:1-2]", command: connect }',
  );
  assertEquals(problemsOf(text).map((p) => `${p.path}: ${p.message}`), [
    'commands[0].peer: "node-[:1-2]": [:1-2] is not a numeric range: write [1-50], [7] or [1-5,9]',
  ]);
});
