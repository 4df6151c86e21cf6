import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  CONFIG_ARCHIVE_SCRIPT,
  splitConfigArchive,
} from "../../../src/runtimes/docker/config_archives.ts";
import { tempDir } from "../../support/run_records.ts";

/** The host side, run here: `CONFIG_ARCHIVE_SCRIPT` with `$HOME` at `home`, `dirs` on stdin. */
function hostArchive(home: string, dirs: string[]): ReadableStream<Uint8Array> {
  const child = new Deno.Command("sh", {
    args: ["-c", CONFIG_ARCHIVE_SCRIPT],
    env: { HOME: home },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  writer.write(new TextEncoder().encode(dirs.map((d) => `${d}\n`).join(""))).then(() =>
    writer.close()
  );
  return child.stdout;
}

/** The entries of a tar archive, as `tar -t` lists them. */
async function listing(archive: ReadableStream<Uint8Array>): Promise<string[]> {
  const bytes = new Uint8Array(await new Response(archive).arrayBuffer());
  const tar = new Deno.Command("tar", { args: ["-tf", "-"], stdin: "piped", stdout: "piped" })
    .spawn();
  const writer = tar.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const { stdout, success } = await tar.output();
  assert(success, "a valid archive");
  return new TextDecoder().decode(stdout).split("\n").filter((l) => l !== "").sort();
}

async function write(path: string, text: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text);
}

Deno.test("splitConfigArchive hands each peer a valid archive of its own dir from one host stream; a missing dir is skipped", async () => {
  await using home = await tempDir();
  const base = `${home.path}/peer-config`;
  await write(`${base}/a-config/db/state`, "ok\n");
  await write(`${base}/a-config/id`, "alice");
  await Deno.symlink("/etc", `${base}/a-config/etc`);
  await Deno.mkdir(`${base}/b-config`);
  // A name far past ustar's 100 bytes travels in a long-name header with its entry.
  const long = `${"d".repeat(90)}/${"f".repeat(90)}`;
  await write(`${base}/c-config/${long}`, "deep");
  const peerOfDir = new Map([
    ["a-config", "alice"],
    ["b-config", "bob"],
    ["c-config", "carol"],
    ["never-config", "dave"],
  ]);
  const listed = new Map<string, string[]>();
  await splitConfigArchive(
    hostArchive(home.path, [...peerOfDir.keys()]),
    peerOfDir,
    async (peer, archive) => void listed.set(peer, await listing(archive)),
    new AbortController().signal,
  );
  assertEquals([...listed.keys()].sort(), ["alice", "bob", "carol"]);
  assertEquals(listed.get("alice"), [
    "a-config/",
    "a-config/db/",
    "a-config/db/state",
    "a-config/id",
  ]);
  assertEquals(listed.get("bob"), ["b-config/"]);
  assert(listed.get("carol")!.includes(`c-config/${long}`), listed.get("carol")!.join("\n"));
});

Deno.test("splitConfigArchive goes on to the next peer when a collector stops reading early", async () => {
  await using home = await tempDir();
  const base = `${home.path}/peer-config`;
  await write(`${base}/a-config/big`, "x".repeat(1 << 20));
  await write(`${base}/b-config/small`, "y");
  const peerOfDir = new Map([["a-config", "alice"], ["b-config", "bob"]]);
  const got = new Map<string, string[] | "cut">();
  await splitConfigArchive(
    hostArchive(home.path, [...peerOfDir.keys()]),
    peerOfDir,
    async (peer, archive) => {
      if (peer === "alice") {
        const reader = archive.getReader();
        await reader.read();
        await reader.cancel();
        got.set(peer, "cut");
        return;
      }
      got.set(peer, await listing(archive));
    },
    new AbortController().signal,
  );
  assertEquals(got.get("alice"), "cut");
  assertEquals(got.get("bob"), ["b-config/", "b-config/small"]);
});

Deno.test("splitConfigArchive does not wait on a collector that returns without reading", async () => {
  await using home = await tempDir();
  await write(`${home.path}/peer-config/a-config/big`, "x".repeat(1 << 20));
  await write(`${home.path}/peer-config/b-config/small`, "y");
  const peerOfDir = new Map([["a-config", "alice"], ["b-config", "bob"]]);
  const got: string[] = [];
  await splitConfigArchive(
    hostArchive(home.path, [...peerOfDir.keys()]),
    peerOfDir,
    (peer) => Promise.resolve(void got.push(peer)),
    new AbortController().signal,
  );
  assertEquals(got, ["alice", "bob"]);
});
