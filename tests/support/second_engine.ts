/**
 * Test support: a second, private Docker engine on this machine (its own data root, exec root,
 * socket and network namespace, no bridge), for image shipping between two engines without the
 * two-host testbed. Started per test in ~0.2 s; `stop()` ends it and removes its directory.
 * It must run in its own network namespace: `dockerd --bridge none` deletes `docker0`, and
 * with it the main engine's bridge, in the namespace it starts in.
 */
import { LocalRemote } from "../../src/transport/local.ts";
import { DockerEngine } from "../../src/runtimes/docker/engine_api.ts";

export interface SecondEngine extends AsyncDisposable {
  /** `unix://…/docker.sock` */
  readonly dockerHost: string;
  /** Its data root (docker load's temp files live under `<root>/tmp`). */
  readonly dataRoot: string;
  /** A Remote whose `docker` commands reach this engine. */
  remote(name?: string): LocalRemote;
  /** This engine's Engine API, as a local engine (its socket is on this machine). */
  engine(name?: string): DockerEngine;
  stop(): Promise<void>;
}

export async function startSecondEngine(): Promise<SecondEngine> {
  const dir = await Deno.makeTempDir({ prefix: "tm-test-engine-" });
  const dockerHost = `unix://${dir}/docker.sock`;
  const dataRoot = `${dir}/data`;
  const child = new Deno.Command("unshare", {
    args: [
      "--net",
      "dockerd",
      "--data-root",
      dataRoot,
      "--exec-root",
      `${dir}/exec`,
      "--host",
      dockerHost,
      "--pidfile",
      `${dir}/dockerd.pid`,
      "--bridge",
      "none",
      "--iptables=false",
      "--ip-masq=false",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await new Deno.Command("sh", {
      args: ["-c", `grep -o '${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`],
    }).output();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const out = await new Deno.Command("docker", {
      args: ["version", "--format", "{{.Server.Version}}"],
      env: { DOCKER_HOST: dockerHost },
      stdout: "null",
      stderr: "null",
    }).output();
    if (out.success) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("the second docker engine did not answer within 20 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dockerHost,
    dataRoot,
    remote: (name = "engine-2") => new LocalRemote({ name, env: { DOCKER_HOST: dockerHost } }),
    engine: (name = "engine-2") => DockerEngine.local({ host: name, dockerHost }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
