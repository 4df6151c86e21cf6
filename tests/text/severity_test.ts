import { deepStrictEqual as assertEquals } from "node:assert";
import { isReported, SEVERITIES, severityOf } from "../../src/text/severity.ts";

Deno.test("severityOf() maps the spellings peers use onto the one scale", () => {
  const cases: [string, string][] = [
    ["error", "error"],
    ["ERR", "error"],
    ["fatal", "error"],
    ["Critical", "error"],
    ["warn", "warn"],
    ["WARNING", "warn"],
    ["info", "info"],
    ["notice", "info"],
    ["DEBUG", "debug"],
    ["trace", "trace"],
  ];
  assertEquals(cases.map(([level]) => [level, severityOf(level)]), cases);
});

Deno.test("isReported() lets a threshold through its own level and the more severe ones", () => {
  const passing = (level: (typeof SEVERITIES)[number]) =>
    SEVERITIES.filter((severity) => isReported(severity, level));
  assertEquals(passing("error"), ["error"]);
  assertEquals(passing("warn"), ["error", "warn"]);
  assertEquals(passing("info"), ["error", "warn", "info"]);
  assertEquals(passing("debug"), ["error", "warn", "info", "debug"]);
  assertEquals(passing("trace"), ["error", "warn", "info", "debug", "trace"]);
});
