/** The `expect:` list and `fail_fast`: their schema and their cross checks, at their lines. */
import { assertEquals } from "../support/assert.ts";
import { parseConfig } from "../../src/plan/load.ts";
import { ConfigError, type ConfigProblem } from "../../src/plan/config_error.ts";

/** Two peers, commands up to t = 10, shutdown timeout 5; `expect` lines are appended. */
function withChecks(expect: string): string {
  return `name: t
timeout: { shutdown: 5 }
redis: { port: 6379, image: redis:7-alpine }
hosts:
  - { address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 11984 }
peers:
  - { name: alice, image: peer:1 }
  - { name: bob, image: peer:1 }
commands:
  - { time: 10, peer: alice, command: connect }
${expect}`;
}

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, "t.yaml");
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems.map((p: ConfigProblem) =>
        `${p.line}:${p.column} ${p.path}: ${p.message}`
      );
    }
    throw error;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

Deno.test("parseConfig() reads every predicate of expect:, with by and after, and fail_fast", () => {
  const config = parseConfig(
    withChecks(`expect:
  - { peer: bob, status: connected, by: 12 }
  - { peer: bob, log: "hello from .*", after: 1, by: 15 }
  - { peer: alice, restarts: 1 }
  - { peer: "*", no_log: error }
  - { peer: [alice, bob], exit_code: 0 }
fail_fast: true
`),
    "t.yaml",
  );
  assertEquals(config.expect, [
    { peer: "bob", status: "connected", by: 12 },
    { peer: "bob", log: "hello from .*", after: 1, by: 15 },
    { peer: "alice", restarts: 1 },
    { peer: "*", no_log: "error" },
    { peer: ["alice", "bob"], exit_code: 0 },
  ]);
  assertEquals(config.fail_fast, true);
});

Deno.test("parseConfig() defaults expect: to no checks and fail_fast to false", () => {
  const config = parseConfig(withChecks(""), "t.yaml");
  assertEquals(config.expect, []);
  assertEquals(config.fail_fast, false);
});

Deno.test("parseConfig() names unknown peers of a check, with the closest name", () => {
  assertEquals(
    problemsOf(withChecks(`expect:
  - { peer: bobb, status: connected }
  - { peer: [alice, carol, alice, "*"], no_log: warn }
`)),
    [
      '12:13 expect[0].peer: unknown peer "bobb" (did you mean "bob"?)',
      '13:21 expect[1].peer[1]: unknown peer "carol"',
      '13:28 expect[1].peer[2]: "alice" is listed twice',
      '13:35 expect[1].peer[3]: "*" means every peer on its own: write peer: "*"',
    ],
  );
});

Deno.test("parseConfig() wants exactly one predicate per check", () => {
  assertEquals(
    problemsOf(withChecks(`expect:
  - { peer: bob, status: connected, log: hello }
  - { peer: bob, by: 3 }
`)),
    [
      "12:42 expect[0].log: one predicate per check, this one has status and log: split it into 2 checks",
      "13:5 expect[1]: a check needs one predicate: one of status, log, no_log, restarts, exit_code",
    ],
  );
});

Deno.test("parseConfig() rejects a bad regex, an unknown level and a negative restart count", () => {
  const problems = problemsOf(withChecks(`expect:
  - { peer: bob, log: "(unclosed" }
  - { peer: bob, no_log: loud }
  - { peer: bob, restarts: -1 }
`));
  assertEquals(problems, [
    "12:23 expect[0].log: not a valid regular expression (RE2 syntax): " +
    "missing closing ): `(unclosed` (no lookaround or backreferences: docs/config.md, Expectations)",
    '13:26 expect[1].no_log: must be one of error, warn, info, debug, trace; got "loud"',
    "14:28 expect[2].restarts: must be at least 0, got -1",
  ]);
});

Deno.test("parseConfig() refuses what RE2 does not accept: lookaround, backreferences", () => {
  const problems = problemsOf(withChecks(`expect:
  - { peer: bob, log: '(?=x)y' }
  - { peer: bob, log: '(a)\\1' }
  - { peer: bob, log: '(a+)+$' }
`));
  assertEquals(problems, [
    "12:23 expect[0].log: not a valid regular expression (RE2 syntax): invalid or unsupported " +
    "Perl syntax: `(?=` (no lookaround or backreferences: docs/config.md, Expectations)",
    "13:23 expect[1].log: not a valid regular expression (RE2 syntax): invalid escape sequence: " +
    "`\\1` (no lookaround or backreferences: docs/config.md, Expectations)",
  ]);
});

Deno.test("parseConfig() bounds by at the last command plus the shutdown timeout, and after by by", () => {
  assertEquals(
    problemsOf(withChecks(`expect:
  - { peer: bob, status: connected, by: 15 }
  - { peer: bob, status: connected, by: 15.5 }
  - { peer: bob, log: x, after: 4, by: 3 }
`)),
    [
      "13:41 expect[1].by: by 15.5 s is past the run's end: the last command is at 10 s and " +
      "shutdown takes at most 5 s (timeout.shutdown); use at most 15",
      "14:33 expect[2].after: after (4 s) is past by (3 s): the check's window is empty",
    ],
  );
});

Deno.test("parseConfig() refuses by and after on restarts and exit_code, judged at the end", () => {
  assertEquals(
    problemsOf(withChecks(`expect:
  - { peer: bob, restarts: 1, by: 5 }
  - { peer: bob, exit_code: 0, after: 1 }
`)),
    [
      "12:35 expect[0].by: by does not apply to restarts, which is judged at the end of the run " +
      "once every peer exited: remove it",
      "13:39 expect[1].after: after does not apply to exit_code, which is judged at the end of " +
      "the run once every peer exited: remove it",
    ],
  );
});
