/**
 * The Docker runtime's setup of its hosts once they are connected and probed: what to ship
 * where, each host's ADVERTISE_IP, its peer images checked to be there, what dead runs of the
 * same test left removed (a live run's refused), and its exit watcher started.
 */
import { describeOwner } from "../../coordination/run_owner.ts";
import type { UnstampedEvent } from "../../engine/events.ts";
import type { LeaseHolderLookup } from "../../engine/runtime.ts";
import type { PlacedPeer } from "../../plan/placement.ts";
import type { Config } from "../../plan/schema.ts";
import { AdvertiseAddressError, advertiseAddresses } from "./advertise_address.ts";
import { containerName, LABELS, ownerOfLabels } from "./container_names.ts";
import type { ImageInfo } from "./docker.ts";
import type { DockerHost, HostFacts } from "./docker_host.ts";
import type { DockerEngine } from "./engine_api.ts";
import { ExitWatcher } from "./exit_watcher.ts";
import { HostSetupError } from "./host_connection.ts";
import type { ShipReport } from "./image_shipping.ts";
import { runLiveness } from "./run_liveness.ts";

/**
 * What to ship where, by placement: each peer image goes to the hosts its peers are placed on,
 * whether or not `images` lists it (`pulled` is what was pulled first). A peer image that is
 * not on this machine is not shipped: `prepareHost` then names it if a host lacks it.
 */
export async function imageShipments(
  plan: PlacedPeer[],
  hosts: (DockerHost | undefined)[],
  pulled: Map<string, ImageInfo>,
  local: DockerEngine,
  signal: AbortSignal,
): Promise<{ images: Map<string, ImageInfo>; destinations: Map<string, string[]> }> {
  const destinations = new Map<string, string[]>();
  for (const peer of plan) {
    const host = hosts[peer.hostIndex];
    if (!host) continue;
    const names = destinations.get(peer.image) ?? [];
    if (!names.includes(host.name)) names.push(host.name);
    destinations.set(peer.image, names);
  }
  const unlisted = [...destinations.keys()].filter((image) => !pulled.has(image));
  const found = unlisted.length > 0 ? await local.images(unlisted, signal) : new Map();
  const images = new Map<string, ImageInfo>();
  for (const image of destinations.keys()) {
    const info = pulled.get(image) ?? found.get(image);
    if (info) images.set(image, info);
  }
  return { images, destinations };
}

/**
 * Every host's ADVERTISE_IP, now that each told how it sees us (`advertise_address.ts`); one
 * that cannot be found fails setup, naming the host and the fix.
 */
export async function learnAdvertiseAddresses(
  hosts: DockerHost[],
  send: (event: UnstampedEvent) => void,
): Promise<void> {
  let addresses: string[];
  try {
    addresses = await advertiseAddresses(
      hosts.map((host) => ({
        config: host.config,
        orchestratorAddress: host.orchestratorAddress,
      })),
    );
  } catch (error) {
    if (!(error instanceof AdvertiseAddressError)) throw error;
    throw new HostSetupError([{ host: error.host, message: error.message }]);
  }
  hosts.forEach((host, i) => {
    host.advertiseIp = addresses[i];
    send({
      type: "trace",
      message: `${host.name}: its peers advertise ${addresses[i]} (ADVERTISE_IP)`,
    });
  });
}

export interface PrepareHostOptions {
  config: Config;
  runId: string;
  /** The peers placed on the host. */
  peers: PlacedPeer[];
  /** Lines of output kept in an exit report. */
  logLines: number;
  leaseHolder?: LeaseHolderLookup;
  send: (event: UnstampedEvent) => void;
  /** Exits can no longer be watched on the host: the run fails. */
  fail: (message: string) => void;
}

/**
 * Checks the peer images are there (the probe found them or shipping brought them), clears
 * leftovers and starts the exit watcher. One host.
 */
export async function prepareHost(
  host: DockerHost,
  facts: HostFacts,
  shipped: ShipReport,
  local: Map<string, ImageInfo>,
  options: PrepareHostOptions,
  signal: AbortSignal,
): Promise<void> {
  const { runId, peers } = options;
  const images = [...new Set(peers.map((p) => p.image))];
  for (const image of images) {
    // A shipped image replaced the host's copy and keeps its ID (`docker load`): this
    // machine's copy names it. Otherwise the host runs the copy the probe found.
    const wasShipped = shipped.shipped.some((s) => s.image === image && s.host === host.name);
    const id = wasShipped ? local.get(image)?.id : facts.images.get(image)?.id;
    if (id !== undefined) host.imageIds.set(image, id);
  }
  const absent = images.filter((image) =>
    facts.images.get(image) == null &&
    !shipped.shipped.some((s) => s.image === image && s.host === host.name)
  );
  if (absent.length > 0) {
    const them = absent.length > 1 ? "them" : "it";
    throw new HostSetupError([{
      host: host.name,
      message: `${host.name}: image${absent.length > 1 ? "s" : ""} ${absent.join(", ")} ` +
        `on neither this machine nor the host; build ${them} here (tm ships ${them}), ` +
        `list ${them} under \`images\` so tm pulls ${them}, or build ${them} on the host`,
    }]);
  }
  if (peers.length === 0) return;

  await clearLeftovers(host, facts, options, signal);

  host.watcher = new ExitWatcher(host, runId, {
    logLines: options.logLines,
    fail: (message) => options.fail(`${host.name}: ${message}`),
  });
  host.watcher.start();
}

/**
 * Leftovers on one host. This test's containers (by the `tm.test` label, never by name
 * alone) whose run is dead are removed with a warning; those of a live run, or of a run whose
 * liveness cannot be told, are left alone and fail the setup naming the run: two runs of one
 * test cannot share a host (names and ports clash). A container holding one of our names
 * without this test's label is not ours to touch either.
 */
async function clearLeftovers(
  host: DockerHost,
  facts: HostFacts,
  options: PrepareHostOptions,
  signal: AbortSignal,
): Promise<void> {
  const { config, runId, peers } = options;
  const names = new Set(peers.map((p) => containerName(config.name, p.peer)));
  const { named, labelled } = facts;
  const foreign = named.filter((c) => names.has(c.name) && c.labels[LABELS.test] !== config.name);
  if (foreign.length > 0) {
    const list = foreign.map((c) => c.name).join(", ");
    const many = foreign.length > 1;
    throw new HostSetupError([{
      host: host.name,
      message: `${host.name}: container${many ? "s" : ""} ${list} exist${many ? "" : "s"} ` +
        `and tm did not start ${many ? "them" : "it"} for this test; remove ${
          many ? "them" : "it"
        } or rename the test`,
    }]);
  }
  const byRun = Map.groupBy(
    labelled.filter((c) => c.labels[LABELS.test] === config.name && c.labels[LABELS.run] !== runId),
    (c) => c.labels[LABELS.run] ?? "",
  );
  const problems: string[] = [];
  for (const [run, containers] of byRun) {
    const owner = ownerOfLabels(containers[0].labels) ??
      { runId: run, test: config.name, hostname: "", machine: "", pid: 0, process: "" };
    const list = containers.map((c) => c.name).join(", ");
    const liveness = await runLiveness(owner, options.leaseHolder);
    if (liveness === "dead") {
      options.send({
        type: "warning",
        host: host.name,
        message: `removing ${containers.length} container${
          containers.length > 1 ? "s" : ""
        } left by run ${run} of this test, which is no longer running (${list})`,
      });
      await host.engine.remove(containers.map((c) => c.id), { force: true, signal });
    } else if (liveness === "alive") {
      problems.push(
        `${host.name}: ${describeOwner(owner)} is still running here (${list}): two runs of ` +
          `one test cannot share a host; wait for it to end, or stop it`,
      );
    } else {
      problems.push(
        `${host.name}: ${list} ${containers.length > 1 ? "were" : "was"} left by ${
          describeOwner(owner)
        }, and tm cannot tell whether that run still goes on (it ran on another machine${
          owner.redis ? ` and reports to ${owner.redis}` : ""
        }): if it is over, remove them (docker rm -f ${containers.map((c) => c.name).join(" ")})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new HostSetupError(problems.map((message) => ({ host: host.name, message })));
  }
}
