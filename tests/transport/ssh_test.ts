import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  HostKeyError,
  PASSPHRASE_ENV,
  type SshOptions,
  SshRemote,
} from "../../src/transport/ssh.ts";
import { RemoteError } from "../../src/transport/remote.ts";
import { freePort } from "../support/redis_server.ts";
import { sshOptions, type Testbed, testbed, type TestbedHost } from "../support/testbed.ts";
import { eventually as eventuallyWithin } from "../support/until.ts";

/** Connects to a testbed host, runs `fn`, and closes the connection even when `fn` fails. */
async function withRemote<T>(
  host: (bed: Testbed) => TestbedHost,
  fn: (remote: SshRemote, bed: Testbed) => Promise<T>,
  overrides: Partial<SshOptions> = {},
): Promise<T> {
  const bed = await testbed();
  const remote = await SshRemote.connect(sshOptions(bed, host(bed), overrides));
  try {
    return await fn(remote, bed);
  } finally {
    await remote.close();
  }
}

/** Remote effects (a process starting or ending over SSH) settle within seconds. */
const eventually = (what: string, check: () => Promise<boolean>) =>
  eventuallyWithin(what, check, 10_000);

const hostA = (bed: Testbed) => bed.hostA;
const hostB = (bed: Testbed) => bed.hostB;

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "tm-ssh-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(command: string, args: string[], env?: Record<string, string>) {
  const output = await new Deno.Command(command, { args, env, stdin: "null" }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return stdout;
}

/** Whether a process whose command line is exactly `commandLine` runs on the host. */
async function running(remote: SshRemote, commandLine: string): Promise<boolean> {
  const result = await remote.execute(["pgrep", "-f", `^${commandLine.replaceAll(".", "\\.")}$`]);
  return result.code === 0;
}

Deno.test("SshRemote.execute() returns stdout, stderr and exit codes [integration: testbed]", async () => {
  for (const host of [hostA, hostB]) {
    await withRemote(host, async (remote) => {
      assertEquals(await remote.execute(["echo", "hello"]), {
        code: 0,
        stdout: "hello\n",
        stderr: "",
      });
      assertEquals(await remote.execute(["sh", "-c", "echo out; echo err >&2; exit 42"]), {
        code: 42,
        stdout: "out\n",
        stderr: "err\n",
      });
      assertEquals((await remote.execute(["false"])).code, 1);
      assertEquals((await remote.execute(["no-such-command-tm"])).code, 127);
    });
  }
});

Deno.test("SshRemote.execute() passes stdin through, text and binary [integration: testbed]", async () => {
  await withRemote(hostA, async (remote) => {
    const text = "héllo\nwörld\n";
    assertEquals((await remote.execute(["cat"], { stdin: text })).stdout, text);
    const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 7919) % 256);
    const result = await remote.execute(["base64", "-w0"], { stdin: bytes });
    assertEquals(result.stdout, Buffer.from(bytes).toString("base64"));
    assertEquals((await remote.execute(["wc", "-c"])).stdout.trim(), "0", "no stdin: EOF");
  });
});

Deno.test("SshRemote.execute() delivers hostile arguments literally [integration: testbed]", async () => {
  await withTempDir(async (dir) => {
    const words = [
      "plain",
      "two words",
      "it's",
      'say "hi"',
      `$(touch ${dir}/pwned)`,
      `\`touch ${dir}/pwned\``,
      "line1\nline2",
      "tab\tseparated",
      "ünïcødé ✓ 🚀",
      "",
      "$HOME",
      "${PATH}",
      "*",
      "-n",
      "a;b|c&d>e",
      "back\\slash",
      "  padded  ",
      "'",
      '"',
      "!bang",
      "~",
    ];
    for (const host of [hostA, hostB]) {
      await withRemote(host, async (remote) => {
        const result = await remote.execute(["printf", "%s\\0", ...words]);
        assertEquals(result.code, 0);
        assertEquals(result.stdout.split("\0").slice(0, -1), words);
      });
    }
    // Host B shares this machine's filesystem, so one check covers both hosts.
    assertEquals(await Deno.stat(`${dir}/pwned`).catch(() => null), null);
  });
});

Deno.test("SshRemote.spawn() streams 50 MB through cat intact [integration: testbed]", async () => {
  await withRemote(hostB, async (remote) => {
    const chunkSize = 1024 * 1024;
    const chunks = 50;
    const sent = createHash("sha256");
    const received = createHash("sha256");
    const process = remote.spawn(["cat"]);
    const writing = (async () => {
      const writer = process.stdin.getWriter();
      let state = 0x2545f491;
      for (let i = 0; i < chunks; i++) {
        const chunk = new Uint8Array(chunkSize);
        for (let j = 0; j < chunkSize; j += 4) {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          chunk[j] = state;
          chunk[j + 1] = state >>> 8;
          chunk[j + 2] = state >>> 16;
          chunk[j + 3] = state >>> 24;
        }
        sent.update(chunk);
        await writer.write(chunk);
      }
      await writer.close();
    })();
    let length = 0;
    for await (const chunk of process.stdout) {
      length += chunk.length;
      received.update(chunk);
    }
    await writing;
    assertEquals(length, chunks * chunkSize);
    assertEquals(received.digest("hex"), sent.digest("hex"));
    assertEquals(await process.status, { code: 0 });
  });
});

Deno.test("SshRemote.spawn() separates stderr and reports the exit code [integration: testbed]", async () => {
  await withRemote(hostA, async (remote) => {
    const process = remote.spawn([
      "sh",
      "-c",
      'read line; echo "got $line"; echo oops >&2; exit 7',
    ]);
    const writer = process.stdin.getWriter();
    await writer.write(new TextEncoder().encode("ping\n"));
    await writer.close();
    const [stdout, stderr] = await Promise.all([
      new Response(process.stdout).text(),
      new Response(process.stderr).text(),
    ]);
    assertEquals([stdout, stderr], ["got ping\n", "oops\n"]);
    assertEquals(await process.status, { code: 7 });
  });
});

Deno.test("SshRemote keeps at most maxChannels commands in flight and queues the rest [integration: testbed]", async () => {
  await withTempDir(async (dir) => {
    await withRemote(hostA, async (remote) => {
      // Each command counts the commands running with it: never more than maxChannels.
      const script = 'touch "$1/$2"; sleep 0.1; n=$(ls "$1" | wc -l); rm "$1/$2"; echo "$n"';
      const results = await Promise.all(
        Array.from(
          { length: 9 }, // three rounds of maxChannels: enough to see queueing
          (_, i) => remote.execute(["sh", "-c", script, "sh", dir, `${i}`]),
        ),
      );
      assert(results.every((r) => r.code === 0), JSON.stringify(results));
      const counts = results.map((r) => Number(r.stdout.trim()));
      assert(counts.every((n) => n >= 1 && n <= 3), `running together: ${counts}`);
    }, { maxChannels: 3 });
  });
  // Beyond OpenSSH's MaxSessions (10) with the default limit: all succeed.
  await withRemote(hostB, async (remote) => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => remote.execute(["echo", `${i}`])),
    );
    assertEquals(results.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `${i}\n`));
  });
});

Deno.test("SshRemote.execute() aborted kills the remote command [integration: testbed]", async () => {
  await withRemote(hostA, async (remote) => {
    const marker = `sleep 100.${crypto.getRandomValues(new Uint32Array(1))[0]}`;
    const controller = new AbortController();
    const execution = remote.execute(marker.split(" "), { signal: controller.signal });
    await eventually("sleep runs", () => running(remote, marker));
    controller.abort();
    const error = await execution.then(() => null, (e) => e);
    assert(error instanceof DOMException && error.name === "AbortError", `${error}`);
    await eventually("sleep is gone", async () => !(await running(remote, marker)));
    assertEquals((await remote.execute(["true"])).code, 0, "the connection still works");
  });
});

Deno.test("SshRemote.spawn() kill() stops the remote command [integration: testbed]", async () => {
  await withRemote(hostB, async (remote) => {
    const marker = `sleep 100.${crypto.getRandomValues(new Uint32Array(1))[0]}`;
    const process = remote.spawn(marker.split(" "));
    await eventually("sleep runs", () => running(remote, marker));
    process.kill();
    process.kill();
    assertEquals(await process.status, { code: null });
    await eventually("sleep is gone", async () => !(await running(remote, marker)));
  });
});

Deno.test("SshRemote.orchestratorAddress() is this machine as each host sees it [integration: testbed]", async () => {
  for (const host of [hostA, hostB]) {
    await withRemote(host, async (remote, bed) => {
      const expected = host(bed).orchestratorAddress;
      assertEquals(await remote.orchestratorAddress(), expected);
      assertEquals(await remote.orchestratorAddress(), expected);
    });
  }
});

Deno.test("SshRemote.connect() negotiates AES-GCM both ways, the cipher whose packets leave no memory behind [integration: testbed]", async () => {
  for (const host of [hostA, hostB]) {
    await withRemote(host, (remote) => {
      assertEquals(remote.ciphers, {
        toHost: "aes128-gcm@openssh.com",
        fromHost: "aes128-gcm@openssh.com",
      });
      return Promise.resolve();
    });
  }
});

Deno.test("docker over SSH on host B talks to host B's own engine [integration: testbed]", async () => {
  const rootDir = (remote: SshRemote) =>
    remote.execute(["docker", "info", "--format", "{{json .DockerRootDir}}"]).then((r) => {
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as string;
    });
  const a = await withRemote(hostA, rootDir);
  const b = await withRemote(hostB, rootDir);
  assertEquals(b, "/var/lib/tm-testbed/hostb/docker");
  assert(a !== b, `host A's engine is another one (${a})`);
});

Deno.test("SshRemote.connect() to a closed port fails with reason refused [integration: testbed]", async () => {
  const bed = await testbed();
  const error = await assertRejects(
    () => SshRemote.connect(sshOptions(bed, bed.hostA, { port: freePort() })),
    RemoteError,
  );
  assertEquals([error.host, error.reason], ["hosta", "refused"]);
  assert(error.message.startsWith("hosta: connection refused"), error.message);
});

Deno.test("SshRemote.connect() with a key the host does not accept fails with reason auth [integration: testbed]", async () => {
  const bed = await testbed();
  await withTempDir(async (dir) => {
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/stranger`]);
    const error = await assertRejects(
      () => SshRemote.connect(sshOptions(bed, bed.hostB, { auth: `${dir}/stranger` })),
      RemoteError,
    );
    assertEquals(error.reason, "auth");
    assert(error.message.includes("user root"), error.message);
    const missing = await assertRejects(
      () => SshRemote.connect(sshOptions(bed, bed.hostB, { auth: `${dir}/nope` })),
      RemoteError,
    );
    assertEquals(missing.reason, "auth");
    assert(missing.message.includes("no such file"), missing.message);
  });
});

Deno.test("SshRemote.connect() with an encrypted key needs TM_SSH_PASSPHRASE [integration: testbed]", async () => {
  const bed = await testbed();
  const saved = Deno.env.get(PASSPHRASE_ENV);
  try {
    await withTempDir(async (dir) => {
      const key = `${dir}/encrypted`;
      await Deno.copyFile(bed.hostA.key, key);
      await Deno.chmod(key, 0o600);
      await run("ssh-keygen", ["-q", "-p", "-P", "", "-N", "s3cret phrase", "-f", key]);
      Deno.env.delete(PASSPHRASE_ENV);
      const missing = await assertRejects(
        () => SshRemote.connect(sshOptions(bed, bed.hostA, { auth: key })),
        RemoteError,
      );
      assertEquals(missing.reason, "auth");
      assert(missing.message.includes(`is encrypted: set ${PASSPHRASE_ENV}`), missing.message);

      Deno.env.set(PASSPHRASE_ENV, "wrong");
      const wrong = await assertRejects(
        () => SshRemote.connect(sshOptions(bed, bed.hostA, { auth: key })),
        RemoteError,
      );
      assert(wrong.message.includes("wrong passphrase"), wrong.message);

      Deno.env.set(PASSPHRASE_ENV, "s3cret phrase");
      const remote = await SshRemote.connect(sshOptions(bed, bed.hostA, { auth: key }));
      try {
        assertEquals((await remote.execute(["true"])).code, 0);
      } finally {
        await remote.close();
      }
    });
  } finally {
    if (saved === undefined) Deno.env.delete(PASSPHRASE_ENV);
    else Deno.env.set(PASSPHRASE_ENV, saved);
  }
});

Deno.test("SshRemote.connect() with ssh_auth agent uses SSH_AUTH_SOCK [integration: testbed]", async () => {
  const bed = await testbed();
  const saved = Deno.env.get("SSH_AUTH_SOCK");
  await withTempDir(async (dir) => {
    const socket = `${dir}/agent.sock`;
    const agent = new Deno.Command("ssh-agent", {
      args: ["-D", "-a", socket],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await eventually("the agent listens", () => Deno.stat(socket).then(() => true, () => false));
      await run("ssh-add", ["-q", bed.hostB.key], { SSH_AUTH_SOCK: socket });
      Deno.env.delete("SSH_AUTH_SOCK");
      const unset = await assertRejects(
        () => SshRemote.connect(sshOptions(bed, bed.hostB, { auth: "agent" })),
        RemoteError,
      );
      assert(unset.message.includes("SSH_AUTH_SOCK is not set"), unset.message);
      Deno.env.set("SSH_AUTH_SOCK", socket);
      const remote = await SshRemote.connect(sshOptions(bed, bed.hostB, { auth: "agent" }));
      try {
        assertEquals((await remote.execute(["echo", "via agent"])).stdout, "via agent\n");
      } finally {
        await remote.close();
      }
    } finally {
      if (saved === undefined) Deno.env.delete("SSH_AUTH_SOCK");
      else Deno.env.set("SSH_AUTH_SOCK", saved);
      agent.kill();
      await agent.status;
    }
  });
});

Deno.test("SshRemote.connect() refuses a changed host key and shows its fingerprint [integration: testbed]", async () => {
  const bed = await testbed();
  await withTempDir(async (dir) => {
    const knownHosts = `${dir}/known_hosts`;
    const stale = "AAAAC3NzaC1lZDI1NTE5AAAAID1x/0AlA9rbOwJz7PrrUfWtNrVtvBvXlTZ3kh3S6KIK";
    const text = `# old lab\n[127.0.0.1]:${bed.hostA.port} ssh-ed25519 ${stale}\n`;
    await Deno.writeTextFile(knownHosts, text);
    const error = await assertRejects(
      () => SshRemote.connect(sshOptions(bed, bed.hostA, { knownHostsPath: knownHosts })),
      HostKeyError,
    );
    const printed = await run("ssh-keygen", [
      "-l",
      "-f",
      `${bed.dir}/hosta/ssh_host_ed25519_key.pub`,
    ]);
    const expected = printed.split(" ")[1];
    assert(error instanceof RemoteError);
    assertEquals([error.reason, error.verdict, error.fingerprint], [
      "host-key",
      "changed",
      expected,
    ]);
    assertEquals([error.knownHostsPath, error.line], [knownHosts, 2]);
    assert(error.message.includes(`ED25519 key [127.0.0.1]:${bed.hostA.port} sent`), error.message);
    assert(error.message.includes(`fingerprint ${expected}`), error.message);
    assert(error.message.includes(`remove line 2 of ${knownHosts}`), error.message);
    assertEquals(await Deno.readTextFile(knownHosts), text, "known_hosts is left alone");
  });
});

Deno.test("SshRemote.connect() records an unknown host in known_hosts, then knows it [integration: testbed]", async () => {
  const bed = await testbed();
  await withTempDir(async (dir) => {
    const knownHosts = `${dir}/ssh/known_hosts`;
    for (const host of [bed.hostA, bed.hostB, bed.hostA]) {
      const remote = await SshRemote.connect(sshOptions(bed, host, { knownHostsPath: knownHosts }));
      await remote.close();
    }
    const lines = (await Deno.readTextFile(knownHosts)).trim().split("\n");
    assertEquals(lines.length, 2, lines.join("\n"));
    const hostAKey = (await Deno.readTextFile(`${bed.dir}/hosta/ssh_host_ed25519_key.pub`)).split(
      " ",
    );
    assertEquals(lines[0], `[127.0.0.1]:${bed.hostA.port} ${hostAKey[0]} ${hostAKey[1]}`);
    assert(lines[1].startsWith(`${bed.hostB.address} `), lines[1]);
  });
});

Deno.test("SshRemote.connect() accepts hashed known_hosts entries and prefers known key types [integration: testbed]", async () => {
  const bed = await testbed();
  await withTempDir(async (dir) => {
    // Host B offers ed25519 and ECDSA; known_hosts only has its ECDSA key, hashed.
    const knownHosts = `${dir}/known_hosts`;
    const ecdsa = (await Deno.readTextFile(`${bed.dir}/hostb/ssh_host_ecdsa_key.pub`)).split(" ");
    await Deno.writeTextFile(knownHosts, `${bed.hostB.address} ${ecdsa[0]} ${ecdsa[1]}\n`);
    await run("ssh-keygen", ["-q", "-H", "-f", knownHosts]);
    const hashed = await Deno.readTextFile(knownHosts);
    assert(hashed.startsWith("|1|"), hashed);
    const remote = await SshRemote.connect(
      sshOptions(bed, bed.hostB, { knownHostsPath: knownHosts }),
    );
    await remote.close();
    assertEquals(
      await Deno.readTextFile(knownHosts),
      hashed,
      "nothing recorded: the host is known",
    );
  });
});

Deno.test("SshRemote.connect() with hostKeyCheck off neither checks nor records [integration: testbed]", async () => {
  const bed = await testbed();
  await withTempDir(async (dir) => {
    const knownHosts = `${dir}/known_hosts`;
    const stale = "AAAAC3NzaC1lZDI1NTE5AAAAID1x/0AlA9rbOwJz7PrrUfWtNrVtvBvXlTZ3kh3S6KIK";
    await Deno.writeTextFile(knownHosts, `${bed.hostB.address} ssh-ed25519 ${stale}\n`);
    const remote = await SshRemote.connect(
      sshOptions(bed, bed.hostB, { knownHostsPath: knownHosts, hostKeyCheck: "off" }),
    );
    await remote.close();
    assertEquals(
      await Deno.readTextFile(knownHosts),
      `${bed.hostB.address} ssh-ed25519 ${stale}\n`,
    );
  });
});

Deno.test("SshRemote.connect() gives up on a silent server with reason timeout [integration: testbed]", async () => {
  const bed = await testbed();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) connections.push(conn); // accepts, never answers
  })();
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const error = await assertRejects(
      () => SshRemote.connect(sshOptions(bed, bed.hostA, { port, timeoutMs: 300 })),
      RemoteError,
    );
    assertEquals(error.reason, "timeout");
    assert(error.message.includes("within 0.3 s"), error.message);

    const controller = new AbortController();
    const connecting = SshRemote.connect(
      sshOptions(bed, bed.hostA, { port, signal: controller.signal }),
    );
    controller.abort();
    const aborted = await connecting.then(() => null, (e) => e);
    assert(aborted instanceof DOMException && aborted.name === "AbortError", `${aborted}`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of connections) conn.close();
  }
});

Deno.test("SshRemote.connect() to an unresolvable name fails with reason unreachable [integration: testbed]", async () => {
  const bed = await testbed();
  const error = await assertRejects(
    () =>
      SshRemote.connect(sshOptions(bed, bed.hostA, { address: "no-such-host.invalid", port: 22 })),
    RemoteError,
  );
  assertEquals(error.reason, "unreachable");
  assert(error.message.includes("no-such-host.invalid"), error.message);
});

Deno.test("SshRemote.close() is idempotent and later commands fail with a RemoteError [integration: testbed]", async () => {
  const bed = await testbed();
  const remote = await SshRemote.connect(sshOptions(bed, bed.hostA));
  await remote.close();
  await remote.close();
  const error = await assertRejects(() => remote.execute(["true"]), RemoteError);
  assertEquals(error.host, "hosta");
  const process = remote.spawn(["cat"]);
  assertEquals(await process.status, { code: null });
  const read = await process.stdout.getReader().read().then(() => null, (e) => e);
  assert(read instanceof RemoteError, `${read}`);
});

Deno.test("SshRemote.close() kills the commands still running on the host [integration: testbed]", async () => {
  const bed = await testbed();
  const marker = `sleep 100.${crypto.getRandomValues(new Uint32Array(1))[0]}`;
  const remote = await SshRemote.connect(sshOptions(bed, bed.hostB));
  // A pipeline: its whole process group goes, not only the shell.
  const execution = remote.execute(["sh", "-c", `${marker} | cat`]).catch((e) => e);
  const process = remote.spawn(marker.split(" "));
  await withRemote(hostB, async (observer) => {
    await eventually("both sleeps run", async () => {
      const found = await observer.execute([
        "pgrep",
        "-c",
        "-f",
        `^${marker.replace(".", "\\.")}$`,
      ]);
      return found.stdout.trim() === "2";
    });
    await remote.close();
    assertEquals(await process.status, { code: null });
    const error = await execution;
    assert(error instanceof RemoteError && error.host === "hostb", `${error}`);
    await eventually("no sleep is left", async () => !(await running(observer, marker)));
  });
});

Deno.test("SshRemote reports a dropped connection as a RemoteError on every command [integration: testbed]", async () => {
  const bed = await testbed();
  const remote = await SshRemote.connect(sshOptions(bed, bed.hostB));
  try {
    const sleeping = remote.execute(["sleep", "5"]).then(() => null, (e) => e);
    // The shell's parent is the sshd process serving this connection (root sessions have no
    // privilege-separated child): killing it drops the connection as a network failure would.
    const killer = await remote.execute(["sh", "-c", "kill -9 $PPID"]).then(() => null, (e) => e);
    assert(killer === null || killer instanceof RemoteError, `${killer}`);
    const error = await sleeping;
    assert(error instanceof RemoteError && error.host === "hostb", `${error}`);
    const later = await assertRejects(() => remote.execute(["true"]), RemoteError);
    assertEquals(later.reason, "unreachable");
  } finally {
    await remote.close();
  }
});
