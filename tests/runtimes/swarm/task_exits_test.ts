import { assertEquals } from "../../support/assert.ts";
import { taskExitCode, TaskExits } from "../../../src/runtimes/swarm/task_exits.ts";
import type { SwarmManager, TaskSummary } from "../../../src/runtimes/swarm/swarm_api.ts";
import type { OutputLine } from "../../../src/engine/runtime.ts";

const task = (serviceId: string, state: string, exitCode?: number): TaskSummary => ({
  id: `task-${serviceId}`,
  serviceId,
  nodeId: "idb",
  state,
  containerId: "c",
  exitCode,
  error: "",
});

Deno.test("taskExitCode is the container's exit code once the task ended, null while it runs or when it has none", () => {
  assertEquals(taskExitCode(task("s", "complete", 0)), 0);
  assertEquals(taskExitCode(task("s", "failed", 3)), 3);
  assertEquals(taskExitCode(task("s", "shutdown")), null);
  assertEquals(taskExitCode(task("s", "running", 0)), null);
});

Deno.test("TaskExits asks the manager for every watched service in one request per poll, and reports an ended task's code and last lines from its service logs", async () => {
  const states = new Map([["s1", "running"], ["s2", "running"]]);
  const asked: string[][] = [];
  const logsOf: { service: string; tail?: number; of?: string }[] = [];
  const manager = {
    name: "lab",
    tasks: (filters: Record<string, string[]>) => {
      asked.push([...filters.service].sort());
      return Promise.resolve(
        filters.service.map((s) => task(s, states.get(s)!, states.get(s) === "failed" ? 7 : 0)),
      );
    },
    engine: {
      outputLines: async function* (
        service: string,
        _signal: AbortSignal,
        options: { tail?: number; of?: string },
      ): AsyncIterable<OutputLine> {
        logsOf.push({ service, ...options });
        yield { at: "2026-01-01T00:00:00.000000001Z", text: `${service} said bye` };
      },
    },
  } as unknown as SwarmManager;
  const exits = new TaskExits({ manager, logLines: 5, pollMs: 1 });
  const first = exits.expect("s1", "far");
  const second = exits.expect("s2", "dave");
  states.set("s1", "failed");
  assertEquals(await first, {
    code: 7,
    output: ["s1 said bye"],
    outputAt: ["2026-01-01T00:00:00.000000001Z"],
  });
  assertEquals(asked[0], ["s1", "s2"]);
  assertEquals(logsOf[0], { service: "s1", tail: 5, of: "services" });
  // Stopped (teardown): a task still running resolves with code null.
  await exits.stop();
  assertEquals(await second, { code: null, output: [] });
});
