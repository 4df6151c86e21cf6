/**
 * scripts/install.sh against a release laid out in a directory (file:// URLs, as a mirror would
 * serve them): the right asset for this machine is installed after its checksum matched, and a
 * tampered download is refused with nothing installed.
 */
import { assert, assertEquals } from "../support/assert.ts";

const INSTALL = new URL("../../scripts/install.sh", import.meta.url).pathname;

/** The asset name install.sh picks on this machine. */
function assetName(): string {
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  const os = Deno.build.os === "darwin" ? "apple-darwin" : "unknown-linux-gnu";
  return `tm-${arch}-${os}`;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A release directory with a stand-in executable and its SHA256SUMS. */
async function release(dir: string, tamper = false): Promise<void> {
  const binary = new TextEncoder().encode("#!/bin/sh\necho 9.9.9\n");
  const sums = `${await sha256(binary)}  ${assetName()}\n` +
    `${"0".repeat(64)}  tm-other-target\n`;
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, sums);
  const shipped = tamper ? new TextEncoder().encode("#!/bin/sh\necho evil\n") : binary;
  await Deno.writeFile(`${dir}/${assetName()}`, shipped);
}

async function install(...args: string[]) {
  const output = await new Deno.Command("sh", {
    args: [INSTALL, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { TM_REPO: "", TM_BASE_URL: "" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("install.sh installs this machine's binary after checking its SHA-256", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-install-" });
  try {
    await Deno.mkdir(`${dir}/release`);
    await release(`${dir}/release`);
    const result = await install("--base-url", `file://${dir}/release`, "--dir", `${dir}/bin`);
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.includes(`installed 9.9.9 to ${dir}/bin/tm`), result.stdout);
    const run = await new Deno.Command(`${dir}/bin/tm`, { stdout: "piped" }).output();
    assertEquals(new TextDecoder().decode(run.stdout), "9.9.9\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh refuses a download whose checksum does not match and installs nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-install-" });
  try {
    await Deno.mkdir(`${dir}/release`);
    await release(`${dir}/release`, true);
    const result = await install("--base-url", `file://${dir}/release`, "--dir", `${dir}/bin`);
    assertEquals(result.code, 1);
    assert(result.stderr.includes(`checksum mismatch for ${assetName()}`), result.stderr);
    assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
    let installed = true;
    try {
      await Deno.stat(`${dir}/bin/tm`);
    } catch {
      installed = false;
    }
    assert(!installed, "nothing is installed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh without a repository or base URL says what to give", async () => {
  const result = await install("--dir", "/nonexistent");
  assertEquals(result.code, 1);
  assertEquals(
    result.stderr,
    "install.sh: which repository? give --repo OWNER/REPO (or TM_REPO)\n",
  );
});
