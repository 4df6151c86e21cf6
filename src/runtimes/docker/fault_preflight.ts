/**
 * The check, before any peer starts, that a host has the tools its planned network faults need
 * and may use them (docs/config.md, "Faults"): one script per host, one round trip. It builds
 * the same `tc` tree the faults build (traffic_control.ts) on the loopback of a throwaway network
 * namespace (`unshare -n`), so a kernel without HTB, pfifo, u32, bpf or netem, or a user without the
 * right to enter a namespace, is found there and not in the middle of the test.
 */
import { type FaultName, FaultToolError } from "../../engine/runtime.ts";
import { needsTool } from "../../faults/kinds.ts";
import type { HostCommands } from "../../transport/host_shell.ts";
import { egressBatch } from "./traffic_control.ts";

/** The Debian package providing each command the faults run. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  nsenter: "util-linux",
  unshare: "util-linux",
  tc: "iproute2",
  ip: "iproute2",
  sudo: "sudo",
};

/**
 * Sets `$S` to what runs a command with the rights the faults need: nothing for root, else
 * `sudo -n` (passwordless sudo). Shared by every fault script.
 */
export const PRIVILEGE_PRELUDE =
  'if [ "$(id -u)" -eq 0 ]; then S=""; elif sudo -n true 2>/dev/null; then S="sudo -n"; ' +
  'else S="none"; fi';

/** What a host lacks for its planned faults. */
export interface ToolProblem {
  tool: string;
  message: string;
}

/**
 * The script: prints one line per problem (`missing <tool>`, `denied <tool> <why>`,
 * `kernel <qdisc> <why>`), nothing when all is well. `$1`: the base tree's batch, `$2`: the
 * netem line's batch ("" when no planned fault needs netem).
 */
const SCRIPT = `${PRIVILEGE_PRELUDE}
if [ "$S" = none ]; then echo "denied sudo the user is not root and sudo -n asks for a password"; exit 0; fi
lacking=""
for tool in nsenter unshare tc ip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool"; lacking=1; }
done
[ -z "$lacking" ] || exit 0
out=$($S unshare -n true 2>&1) || { echo "denied unshare $out" | tr '\\n' ' '; echo; exit 0; }
out=$(printf '%s\\n' "$1" | $S unshare -n tc -batch - 2>&1) ||
  { echo "kernel htb/pfifo/u32/bpf $out" | tr '\\n' ' '; echo; exit 0; }
if [ -n "$2" ]; then
  out=$(printf '%s\\n' "$2" | $S unshare -n tc -batch - 2>&1) ||
    { echo "kernel sch_netem $out" | tr '\\n' ' '; echo; }
fi
exit 0`;

/** Whether any of `faults` is done inside a peer's network namespace. */
export function needsNetworkTools(faults: ReadonlySet<FaultName>): boolean {
  return [...faults].some((fault) => needsTool(fault, "traffic-control"));
}

/**
 * Checks one host for `faults`. Resolves with the problems found (empty when none, or when no
 * fault needs tools beyond Docker); rejects only when the host cannot be asked.
 */
export async function checkFaultTools(
  remote: HostCommands,
  faults: ReadonlySet<FaultName>,
  signal?: AbortSignal,
): Promise<ToolProblem[]> {
  if (!needsNetworkTools(faults)) return [];
  // Loss is a BPF filter (traffic_control.ts): only the kinds whose record says so need netem.
  const netem = [...faults].filter((fault) => needsTool(fault, "netem"));
  const base = egressBatch({
    shaping: { rateKbit: 1_000, lossPercent: 5 },
    blocked: [{ address: "192.0.2.1", port: 9 }],
    redisPort: 6379,
  }, "lo");
  const withNetem = netem.length === 0
    ? ""
    : egressBatch({ shaping: { delayMs: 1 }, blocked: [], redisPort: 6379 }, "lo").join("\n");
  const result = await remote.execute(
    ["sh", "-c", SCRIPT, "sh", base.join("\n"), withNetem],
    { signal },
  );
  if (result.code !== 0) {
    return [{
      tool: "sh",
      message: `the fault tools check failed (exit ${result.code}): ${result.stderr.trim()}`,
    }];
  }
  return parseProblems(
    result.stdout,
    [...faults].filter((f) => needsTool(f, "traffic-control")),
    netem,
  );
}

/** The script's lines as problems, each message naming the tool, its package and the faults. */
export function parseProblems(
  stdout: string,
  faults: readonly FaultName[],
  netemFaults: readonly FaultName[],
): ToolProblem[] {
  const problems: ToolProblem[] = [];
  for (const line of stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    const [kind, tool, ...rest] = line.split(" ");
    const why = rest.join(" ").trim();
    const needed = `the faults ${faults.join(", ")} need it`;
    if (kind === "missing") {
      problems.push({
        tool,
        message: `${tool} is not installed (Debian package ${TOOL_PACKAGES[tool] ?? tool}) ` +
          `or not on the PATH of the SSH user: ${needed}`,
      });
    } else if (kind === "denied") {
      problems.push({
        tool,
        message: tool === "sudo"
          ? `network faults need root: log in as root, or allow the SSH user \`sudo -n\` ` +
            `(passwordless) for nsenter and unshare (${why})`
          : `may not enter a network namespace (${tool}: ${why || "refused"}): network ` +
            `faults need root, or passwordless \`sudo -n\``,
      });
    } else if (kind === "kernel" && tool === "sch_netem") {
      problems.push({
        tool,
        message: `the kernel has no netem qdisc (module sch_netem; \`modprobe sch_netem\`, or a ` +
          `kernel built with CONFIG_NET_SCH_NETEM): the faults ${netemFaults.join(", ")} need ` +
          `it (${why})`,
      });
    } else if (kind === "kernel") {
      problems.push({
        tool,
        message: `the kernel lacks a traffic control part (${tool}: modules sch_htb, ` +
          `sch_pfifo, cls_u32, cls_bpf): ${needed} (${why})`,
      });
    } else {
      problems.push({ tool: "sh", message: `unexpected fault tools check output: ${line}` });
    }
  }
  return problems;
}

/**
 * Checks every host of `needs` at once (one script each) and throws a `FaultToolError` for the
 * first problem found, naming its host and tool; the others, if any, are in its message.
 */
export async function preflightFaults(
  remotes: ReadonlyMap<string, HostCommands>,
  needs: ReadonlyMap<string, ReadonlySet<FaultName>>,
  signal?: AbortSignal,
): Promise<void> {
  const checks = [...needs].map(async ([host, faults]) => {
    const remote = remotes.get(host);
    if (!remote) {
      return needsNetworkTools(faults)
        ? [{ host, tool: "host", message: `host ${host} is not connected` }]
        : [];
    }
    return (await checkFaultTools(remote, faults, signal)).map((p) => ({ host, ...p }));
  });
  const problems = (await Promise.all(checks)).flat();
  if (problems.length === 0) return;
  const [first, ...others] = problems;
  const also = others.map((p) => `; ${p.host}: ${p.message}`).join("");
  throw new FaultToolError(first.host, first.tool, `${first.host}: ${first.message}${also}`);
}
