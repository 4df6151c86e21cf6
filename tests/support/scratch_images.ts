/**
 * Test support: tiny Docker images built FROM scratch out of host binaries (no registry), with
 * unique tags the caller removes: busybox (sh, env, sleep, ...), redis-server, and busybox plus a
 * file of random bytes for image-shipping tests and benchmarks.
 */
import { quote } from "../../src/transport/shell.ts";

/** Runs a command and returns its stdout; throws with its stderr on failure. */
export async function sh(script: string, stdin?: Uint8Array): Promise<string> {
  const child = new Deno.Command("sh", {
    args: ["-c", script],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`\`${script}\` failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

/** A unique lower-case prefix for names, tags and labels of one test. */
export function uniqueId(prefix = "hs"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The paths of the shared libraries (and loader) a binary needs; none if static. */
async function libraries(binary: string): Promise<string[]> {
  const out = await sh(`ldd ${binary} 2>/dev/null || true`);
  return out.split("\n").flatMap((line) => {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    if (arrow) return [arrow[1]];
    const direct = /^\s*(\/\S+)/.exec(line);
    return direct ? [direct[1]] : [];
  });
}

/** Builds `tag` from a root directory filled by `fill`; ENTRYPOINT/CMD via `changes`. */
async function importRoot(
  tag: string,
  fill: (root: string) => Promise<void>,
  changes: string[],
): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tm-test-image-" });
  try {
    for (const dir of ["bin", "etc", "tmp", "proc", "sys", "dev"]) {
      await Deno.mkdir(`${root}/${dir}`, { recursive: true });
    }
    await Deno.chmod(`${root}/tmp`, 0o1777);
    await Deno.copyFile("/bin/busybox", `${root}/bin/busybox`);
    await Deno.chmod(`${root}/bin/busybox`, 0o755);
    const applets = (await sh("/bin/busybox --list")).split("\n").filter((a) =>
      a && a !== "busybox"
    );
    for (const applet of applets) await Deno.symlink("busybox", `${root}/bin/${applet}`);
    await fill(root);
    const changeArgs = changes.map((c) => `--change ${quote(c)}`).join(" ");
    await sh(
      `tar -C ${root} --numeric-owner --owner=0 --group=0 -c . | docker import ${changeArgs} - ${tag}`,
    );
    return tag;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * busybox in a FROM-scratch image; default command `sh`, or `cmd` (a Dockerfile CMD JSON array,
 * e.g. `["sh", "-c", "eval \"$SCRIPT\""]` to take the script from the environment).
 */
export function buildBusyboxImage(tag: string, cmd: string[] = ["sh"]): Promise<string> {
  return importRoot(tag, async () => {}, ["ENV PATH=/bin", `CMD ${JSON.stringify(cmd)}`]);
}

/** busybox plus `/filler`, `bytes` of random data (incompressible). */
export function buildFillerImage(tag: string, bytes: number): Promise<string> {
  return importRoot(tag, async (root) => {
    await sh(`head -c ${bytes} /dev/urandom > ${root}/filler`);
  }, ["ENV PATH=/bin", 'CMD ["sh"]']);
}

/** `base` plus one layer of `bytes` random bytes at /top.bin, built by the local engine. */
export async function buildOnTop(base: string, tag: string, bytes: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tm-ontop-" });
  try {
    await sh(`head -c ${bytes} /dev/urandom > ${dir}/top.bin`);
    await Deno.writeTextFile(`${dir}/Dockerfile`, `FROM ${base}\nCOPY top.bin /top.bin\n`);
    // The legacy builder: BuildKit needs the buildx plugin, which a fresh machine lacks.
    await sh(`DOCKER_BUILDKIT=0 docker build -q -t ${tag} ${dir} >/dev/null 2>&1`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The host's redis-server with its libraries; listens on 6379, protected mode off. */
export function buildRedisImage(tag: string): Promise<string> {
  return importRoot(tag, async (root) => {
    const binary = (await sh("readlink -f $(command -v redis-server)")).trim();
    for (const lib of await libraries(binary)) {
      await Deno.mkdir(`${root}${lib.slice(0, lib.lastIndexOf("/"))}`, { recursive: true });
      await Deno.copyFile(lib, `${root}${lib}`);
    }
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    await Deno.copyFile(binary, `${root}/usr/bin/redis-server`);
    await Deno.chmod(`${root}/usr/bin/redis-server`, 0o755);
  }, [
    'ENTRYPOINT ["/usr/bin/redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]',
  ]);
}

/** Removes images and every container (any state) created from them; never throws. */
export async function removeImages(...tags: string[]): Promise<void> {
  for (const tag of tags) {
    await sh(
      `docker ps -aq --filter ancestor=${tag} | xargs -r docker rm -f >/dev/null 2>&1; ` +
        `docker rmi -f ${tag} >/dev/null 2>&1 || true`,
    ).catch(() => {});
  }
}

/** Removes every container carrying `label` (key=value); never throws. */
export async function removeLabelled(label: string): Promise<void> {
  await sh(
    `docker ps -aq --filter label=${label} | xargs -r docker rm -f -v >/dev/null 2>&1 || true`,
  )
    .catch(() => {});
}
