/**
 * Which image store an engine keeps, learned from the engine's `/info` in the probe a host answers
 * before anything is shipped: Docker's classic store (a graph driver such as overlay2 with its
 * layerdb) or the containerd image store (Docker 29's default; `/info` then lists
 * `driver-type: io.containerd.snapshotter.v1` in the driver's status). The two differ in what an
 * image archive may leave out: the classic store's `docker load` looks each layer up by chain ID
 * before it opens the layer's file (moby image/tarexport/load.go), so an archive without the
 * files of layers the host holds loads; the containerd store imports every blob the manifest
 * names and refuses such an archive. So the store decides the shipping method, not a refusal.
 */

/** `classic`: a graph driver with its layerdb; `containerd`: the containerd image store. */
export type ImageStoreKind = "classic" | "containerd";

/** What an engine's `/info` says about its image store. */
export interface ImageStore {
  kind: ImageStoreKind;
  /** The storage driver (classic: `overlay2`, ...) or snapshotter (containerd: `overlayfs`). */
  driver: string;
  /** The engine's data root (`DockerRootDir`), on the engine's machine. */
  root: string;
}

/** The fields of the engine's `/info` answer `imageStoreOf` reads. */
export interface EngineInfo {
  DockerRootDir?: unknown;
  Driver?: unknown;
  /** `[key, value]` pairs, e.g. `["driver-type", "io.containerd.snapshotter.v1"]`. */
  DriverStatus?: unknown;
}

/** The driver status entry by which the containerd image store names itself. */
const CONTAINERD_DRIVER_TYPE = "io.containerd.snapshotter.v1";

/** The engine's `/info` answer could not be read as an image store. */
export class ImageStoreProbeError extends Error {
  constructor(readonly host: string, readonly output: string, options?: ErrorOptions) {
    super(`${host}: cannot tell the engine's image store from /info: ${output}`, options);
    this.name = "ImageStoreProbeError";
  }
}

/**
 * The image store an engine's `/info` answer describes.
 * @throws ImageStoreProbeError when the answer has no data root or driver
 */
export function imageStoreOf(host: string, info: EngineInfo): ImageStore {
  const { DockerRootDir: root, Driver: driver, DriverStatus: status } = info ?? {};
  if (typeof root !== "string" || typeof driver !== "string") {
    throw new ImageStoreProbeError(host, JSON.stringify({ root, driver }));
  }
  const pairs = Array.isArray(status) ? status as unknown[] : [];
  const containerd = pairs.some((pair) =>
    Array.isArray(pair) && pair[0] === "driver-type" && pair[1] === CONTAINERD_DRIVER_TYPE
  );
  return { kind: containerd ? "containerd" : "classic", driver, root };
}

/**
 * Whether an archive without the files of layers the host holds loads into `store`: only the
 * classic store looks a layer up before it reads the layer's file.
 */
export function takesPartialArchive(store: ImageStore): boolean {
  return store.kind === "classic";
}
