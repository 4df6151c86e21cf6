/**
 * A swarm's `registry:` (docs/config.md, "Docker Swarm"): each peer image tagged
 * `<registry>/<path>:<tag>` on this machine's engine (`POST /images/{name}/tag`), pushed through
 * it (`POST /images/{name}/push`, its progress read to the end), and named for the services by
 * the digest the registry stored it under (`<registry>/<path>@sha256:…`), so that every node
 * pulls exactly the image this machine tested. The references tm created here are removed at
 * teardown (`removePushedReferences`); what it pushed stays in the registry: see
 * docs/config.md for why.
 */
import type { DockerEngine } from "../docker/engine_api.ts";
import { errorMessage } from "../../base/errors.ts";

/** An image as the registry holds it. */
export interface PushedImage {
  /** `<registry>/<path>:<tag>`: the tag pushed. */
  tagged: string;
  /** `<registry>/<path>@sha256:…`: what the services run. */
  pinned: string;
  /** Whether tm created `tagged` on this machine's engine (it did not exist before). */
  created: boolean;
  /** The image's ID (`sha256:…`) on this machine's engine. */
  imageId?: string;
}

/** A peer image could not be pushed to the swarm's registry. */
export class RegistryPushError extends Error {
  constructor(readonly registry: string, readonly image: string, readonly reason: string) {
    super(
      `could not push ${image} to the registry ${registry}: ${reason} (every node must be able ` +
        `to pull from it: a plain-HTTP registry must be in each engine's insecure-registries)`,
    );
    this.name = "RegistryPushError";
  }
}

/**
 * Where `image` goes in `registry`: its repository path without its own registry host, and its
 * tag (`latest` when it has none; `tm-<12 hex>` for an image given by digest).
 * `registryReference("127.0.0.1:5000", "ghcr.io/a/peer:1")` is
 * `{ repo: "127.0.0.1:5000/a/peer", tag: "1" }`.
 */
export function registryReference(registry: string, image: string): { repo: string; tag: string } {
  const at = image.indexOf("@");
  const named = at >= 0 ? image.slice(0, at) : image;
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  const hasTag = colon > slash;
  const path = hasTag ? named.slice(0, colon) : named;
  const parts = path.split("/");
  // A first component with a dot or port, or `localhost`, is a registry host (Docker's rule).
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === "localhost")) parts.shift();
  const tag = at >= 0
    ? `tm-${image.slice(at + 1).replace(/^sha256:/, "").slice(0, 12)}`
    : hasTag
    ? named.slice(colon + 1)
    : "latest";
  return { repo: `${registry.replace(/\/$/, "")}/${parts.join("/").toLowerCase()}`, tag };
}

export interface PushOptions {
  /** The `registry:` field. */
  registry: string;
  /** The peer images, as the config names them (each on this machine's engine). */
  images: readonly string[];
  /** This machine's engine, which holds them. */
  local: DockerEngine;
  /** `X-Registry-Auth` of the registry. Default: none (`{}`). */
  auth?: Record<string, string>;
  signal: AbortSignal;
  /** One line as each image's push starts, and one as it ends (with its digest and time). */
  trace?: (message: string) => void;
}

/**
 * Tags and pushes each image (at once), resolving with where each went, by image.
 * @throws RegistryPushError naming the first image that failed (after every push settled);
 *   the references it created are removed before it throws
 */
export async function pushImages(options: PushOptions): Promise<Map<string, PushedImage>> {
  const { registry, local, signal } = options;
  const images = [...new Set(options.images)];
  const before = await local.images(
    [...images, ...images.map((image) => tagOf(registry, image))],
    signal,
  );
  const pushed = new Map<string, PushedImage>();
  const results = await Promise.allSettled(images.map(async (image) => {
    const { repo, tag } = registryReference(registry, image);
    const tagged = `${repo}:${tag}`;
    const created = before.get(tagged) == null;
    const imageId = before.get(image)?.id;
    await local.tag(image, repo, tag, signal);
    // Known before the push, so that a failed push's tag is removed too.
    pushed.set(image, { tagged, pinned: "", created });
    options.trace?.(`pushing ${image} to ${registry} as ${tagged}`);
    const started = performance.now();
    const digest = await local.push(repo, tag, options.auth ?? {}, signal);
    pushed.set(image, {
      tagged,
      pinned: `${repo}@${digest}`,
      created,
      ...(imageId !== undefined ? { imageId } : {}),
    });
    options.trace?.(
      `pushed ${image} as ${repo}@${digest} in ${Math.round(performance.now() - started)} ms`,
    );
  }));
  const failed = results.findIndex((result) => result.status === "rejected");
  if (failed >= 0) {
    await removePushedReferences(local, [...pushed.values()]).catch(() => {});
    signal.throwIfAborted();
    const reason = (results[failed] as PromiseRejectedResult).reason;
    throw new RegistryPushError(registry, images[failed], errorMessage(reason));
  }
  return pushed;
}

function tagOf(registry: string, image: string): string {
  const { repo, tag } = registryReference(registry, image);
  return `${repo}:${tag}`;
}

/**
 * Removes from this machine's engine the references of `pushed` that tm created: the tag, and
 * the digest reference an engine records with it (or makes when a service pulls it there). The
 * image itself stays under its own name. Returns the references that could not be removed, with
 * why.
 */
export async function removePushedReferences(
  local: DockerEngine,
  pushed: readonly PushedImage[],
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const references = pushed.filter((image) => image.created)
    .flatMap((image) => [image.tagged, ...(image.pinned ? [image.pinned] : [])]);
  const { failed } = await local.removeImages(references, signal);
  return failed;
}
