/**
 * How one image goes to one host, decided from the host's probe before a byte is sent: not at
 * all (it holds the same image ID), the whole image (its store takes no archive without the
 * layers it holds: the containerd store, image_store.ts), or an archive without the layers it
 * holds (the classic store), those layers known from the host's copy of another build under the
 * same name or, without one, from the list of every layer on the host. Never a transfer the
 * host's store is known to refuse.
 */
import type { ImageInfo } from "./docker.ts";
import { type ImageStore, takesPartialArchive } from "./image_store.ts";

/** What to send one host. */
export type ShippingChoice =
  /** Nothing: the host holds this image ID under the name. */
  | { method: "skip"; reason: string }
  /** Every layer, and why. */
  | { method: "whole"; why: string }
  /**
   * The archive without the layers the host holds, learned from `from`: `build` — the layers
   * of the host's copy under the name (`layers`); `list` — every layer on the host (asked).
   */
  | { method: "partial"; from: "build"; layers: readonly string[] }
  | { method: "partial"; from: "list" };

export interface ShippingFacts {
  /** Host display name, for the reason. */
  host: string;
  /** The image as this machine has it. */
  image: ImageInfo;
  /** The host's image under the same name; null when it has none. */
  there: ImageInfo | null;
  /** The host's image store; null when its engine could not say (taken as classic). */
  store: ImageStore | null;
}

/**
 * The choice for one (image, host). A host holding another build under the name holds that
 * build's layers, which decide without the list of every layer on the host (a round trip more);
 * a layer above those the builds share has a new chain ID, so another image rarely holds it.
 */
export function chooseShipping(facts: ShippingFacts): ShippingChoice {
  const { host, image, there, store } = facts;
  if (there?.id === image.id) return { method: "skip", reason: "same image ID" };
  if (store && !takesPartialArchive(store)) {
    return { method: "whole", why: `${host}'s ${store.kind} store takes no partial archive` };
  }
  if (there && there.layers.length > 0) {
    return { method: "partial", from: "build", layers: there.layers };
  }
  return { method: "partial", from: "list" };
}
