/**
 * The peer config dirs: `~/peer-config/<container>-config` on a peer's host, mounted at
 * `/config` (docs/architecture.md). The host's login creates them (`host_connection.ts`);
 * teardown collects them (`collectConfigDirs`) and removes them (`removeConfigDirs`).
 */
import { settledWithin } from "../../base/async.ts";
import type { UnstampedEvent } from "../../engine/events.ts";
import type { ConfigCollector, RuntimeSink } from "../../engine/runtime.ts";
import type { PlacedPeer } from "../../plan/placement.ts";
import { CONFIG_ARCHIVE_SCRIPT, splitConfigArchive } from "./config_archives.ts";
import { containerName } from "./container_names.ts";
import { type DockerHost, messageAbout } from "./docker_host.ts";

/** `~/peer-config/<container>-config` on the host, mounted at `/config` (docs/architecture.md). */
export function configDir(home: string, container: string): string {
  return `${home.replace(/\/+$/, "")}/${configDirInHome(container)}`;
}

/** A peer's config dir relative to the home directory. */
export function configDirInHome(container: string): string {
  return `peer-config/${container}-config`;
}

/** The peer config dirs of `peers` of test `test`, relative to `$HOME`, with their peers. */
export function peerConfigDirs(test: string, peers: PlacedPeer[]): { peer: string; dir: string }[] {
  return peers.map((p) => ({ peer: p.peer, dir: configDirInHome(containerName(test, p.peer)) }));
}

/**
 * Hands each peer config dir on one host to `collect`, once its containers are gone, as a tar
 * stream of its regular files and directories under one top-level directory (a peer's
 * symlinks, FIFOs and devices are left out). One command per host archives them all, split
 * per peer as it streams (config_archives.ts): one channel, whatever the peer count. A peer
 * whose container never started has no dir and is skipped. `forced` stops collecting.
 */
export async function collectConfigDirs(
  host: DockerHost,
  dirs: { peer: string; dir: string }[],
  collect: ConfigCollector,
  sink: RuntimeSink,
  forced: AbortSignal,
): Promise<void> {
  if (forced.aborted) return;
  // Only peers whose container was created: a never-started peer's dir is empty.
  const started = new Set(host.peerOf.values());
  const peerOfDir = new Map(
    dirs.filter(({ peer }) => started.has(peer))
      .map(({ peer, dir }) => [dir.replace(/^peer-config\//, ""), peer]),
  );
  if (peerOfDir.size === 0) return;
  const child = host.remote.spawn(["sh", "-c", CONFIG_ARCHIVE_SCRIPT], { signal: forced });
  const errors = new Response(child.stderr).text().catch(() => "");
  try {
    const names = new TextEncoder().encode([...peerOfDir.keys()].join("\n") + "\n");
    const input = child.stdin.getWriter();
    await input.write(names);
    await input.close();
    await splitConfigArchive(child.stdout, peerOfDir, collect, forced);
    const { code } = await child.status;
    if (code !== 0 && !forced.aborted) {
      throw new Error((await errors).trim().split("\n").at(-1) || `exit ${code}`);
    }
  } catch (error) {
    if (!forced.aborted) sink(configDirsWarning(host.name, "collect", error));
  } finally {
    child.kill();
  }
}

/**
 * Removes the run's peer config dirs on one host in one command: none outlives the run. Waits
 * for the host's login first (for up to `shutdownMs`, or until `forced`).
 */
export async function removeConfigDirs(
  host: DockerHost,
  dirs: string[],
  sink: RuntimeSink,
  options: { shutdownMs: number; forced: AbortSignal },
): Promise<void> {
  if (dirs.length === 0) return;
  // The login that creates them may still be on its way when setup failed on another host
  // first: removing before it lands left them behind (the runtime test of an unreachable host).
  const landed = await settledWithin(host.login, options.shutdownMs, options.forced);
  // The host's shell, open since the login, runs it in one round trip; a command of its own
  // opens a channel and starts the user's shell first. A login still under way holds the
  // shell: then a command of its own.
  const commands = landed ? host.shell : host.commands;
  try {
    const removed = await commands.execute([
      "sh",
      "-c",
      'cd && rm -rf -- "$@"',
      "sh",
      ...dirs,
    ]);
    if (removed.code !== 0) throw new Error(removed.stderr.trim() || `exit ${removed.code}`);
  } catch (error) {
    sink(configDirsWarning(host.name, "remove", error));
  }
}

/** The warning for a host whose peer config dirs could not be collected or removed. */
function configDirsWarning(
  host: string,
  what: "collect" | "remove",
  error: unknown,
): UnstampedEvent {
  return {
    type: "warning",
    host,
    message: `could not ${what} the peer config dirs under ~/peer-config: ${
      messageAbout(host, error)
    }`,
  };
}
