/**
 * Which image store an engine keeps, learned from `docker info` in the probe a host answers
 * before anything is shipped: Docker's classic store (a graph driver such as overlay2 with its
 * layerdb) or the containerd image store (Docker 29's default; `docker info` then lists
 * `driver-type: io.containerd.snapshotter.v1` in the driver's status). The two differ in what an
 * image archive may leave out: the classic store's `docker load` looks each layer up by chain ID
 * before it opens the layer's file (moby image/tarexport/load.go), so an archive without the
 * files of layers the host holds loads; the containerd store imports every blob the manifest
 * names and refuses such an archive. So the store decides the shipping method, not a refusal.
 */
import type { Docker } from "./docker.ts";

/** `classic`: a graph driver with its layerdb; `containerd`: the containerd image store. */
export type ImageStoreKind = "classic" | "containerd";

/** What an engine's `docker info` says about its image store. */
export interface ImageStore {
  kind: ImageStoreKind;
  /** The storage driver (classic: `overlay2`, ...) or snapshotter (containerd: `overlayfs`). */
  driver: string;
  /** The engine's data root (`DockerRootDir`), on the engine's machine. */
  root: string;
}

/** The `docker info` format `parseImageStore` reads: a JSON array of three values. */
export const IMAGE_STORE_FORMAT =
  "[{{json .DockerRootDir}},{{json .Driver}},{{json .DriverStatus}}]";

/** The driver status entry by which the containerd image store names itself. */
const CONTAINERD_DRIVER_TYPE = "io.containerd.snapshotter.v1";

/** `docker info`'s answer could not be read as an image store. */
export class ImageStoreProbeError extends Error {
  constructor(readonly host: string, readonly output: string, options?: ErrorOptions) {
    super(`${host}: cannot tell the engine's image store from docker info: ${output}`, options);
    this.name = "ImageStoreProbeError";
  }
}

/**
 * Reads a line `docker info --format IMAGE_STORE_FORMAT` printed.
 * @throws ImageStoreProbeError when the line is not that
 */
export function parseImageStore(host: string, line: string): ImageStore {
  try {
    const [root, driver, status] = JSON.parse(line) as unknown[];
    if (typeof root !== "string" || typeof driver !== "string") throw new Error("not strings");
    const pairs = Array.isArray(status) ? status as unknown[][] : [];
    const containerd = pairs.some((pair) =>
      Array.isArray(pair) && pair[0] === "driver-type" && pair[1] === CONTAINERD_DRIVER_TYPE
    );
    return { kind: containerd ? "containerd" : "classic", driver, root };
  } catch (error) {
    throw new ImageStoreProbeError(host, line.trim(), { cause: error });
  }
}

/**
 * The image store of `docker`'s engine: one `docker info`, asked with the rest of a host's probe
 * (its CoalescingRemote sends questions asked in one tick as one script).
 * @throws DockerError when docker info fails; ImageStoreProbeError on an answer it cannot read
 */
export async function probeImageStore(docker: Docker, signal?: AbortSignal): Promise<ImageStore> {
  const out = await docker.call(["info", "--format", IMAGE_STORE_FORMAT], { signal });
  return parseImageStore(docker.host, out);
}

/**
 * Whether an archive without the files of layers the host holds loads into `store`: only the
 * classic store looks a layer up before it reads the layer's file.
 */
export function takesPartialArchive(store: ImageStore): boolean {
  return store.kind === "classic";
}
