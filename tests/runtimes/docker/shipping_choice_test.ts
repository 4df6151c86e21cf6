import { assertEquals } from "../../support/assert.ts";
import { chooseShipping } from "../../../src/runtimes/docker/shipping_choice.ts";
import { imageStoreOf } from "../../../src/runtimes/docker/image_store.ts";

const image = { id: "sha256:new", size: 100, layers: ["sha256:a", "sha256:b"] };
const older = { id: "sha256:old", size: 90, layers: ["sha256:a", "sha256:c"] };
/** Probe answers as Docker 20.10 (classic, overlay2) and Docker 29 (containerd) give them. */
const classic = imageStoreOf("hostb", {
  DockerRootDir: "/var/lib/docker",
  Driver: "overlay2",
  DriverStatus: [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
});
const containerd = imageStoreOf("hostb", {
  DockerRootDir: "/var/lib/docker",
  Driver: "overlayfs",
  DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]],
});

Deno.test("imageStoreOf() tells the containerd store by its driver-type, classic otherwise", () => {
  assertEquals(classic, { kind: "classic", driver: "overlay2", root: "/var/lib/docker" });
  assertEquals(containerd.kind, "containerd");
});

Deno.test("chooseShipping() skips a host holding the same image ID, whatever its store", () => {
  for (const store of [classic, containerd, null]) {
    assertEquals(chooseShipping({ host: "hostb", image, there: image, store }), {
      method: "skip",
      reason: "same image ID",
    });
  }
});

Deno.test("chooseShipping() sends the containerd store the whole image, never a partial archive", () => {
  for (const there of [null, older]) {
    assertEquals(chooseShipping({ host: "hostb", image, there, store: containerd }), {
      method: "whole",
      why: "hostb's containerd store takes no partial archive",
    });
  }
});

Deno.test("chooseShipping() sends the classic store (or an unknown one) a partial archive, from the older build's layers or the host's list", () => {
  for (const store of [classic, null]) {
    assertEquals(chooseShipping({ host: "hostb", image, there: older, store }), {
      method: "partial",
      from: "build",
      layers: older.layers,
    });
    assertEquals(chooseShipping({ host: "hostb", image, there: null, store }), {
      method: "partial",
      from: "list",
    });
  }
});
