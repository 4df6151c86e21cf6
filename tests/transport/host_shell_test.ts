import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { HostShell } from "../../src/transport/host_shell.ts";
import { LocalRemote } from "../../src/transport/local.ts";
import { SshRemote } from "../../src/transport/ssh.ts";
import type { Remote } from "../../src/transport/remote.ts";
import { sshOptions, testbed } from "../support/testbed.ts";

/** A Remote that counts the processes (over SSH: channels and logins) it starts. */
function counting(remote: Remote): { remote: Remote; spawned: () => number } {
  let spawned = 0;
  const counted = Object.create(remote) as Remote;
  counted.spawn = (argv, options) => {
    spawned++;
    return remote.spawn(argv, options);
  };
  counted.execute = () => Promise.reject(new Error("HostShell must not use execute"));
  return { remote: counted, spawned: () => spawned };
}

/** Commands whose output looks like the shell's own markers, binary bytes, no trailing newline. */
async function exerciseShell(shell: HostShell): Promise<void> {
  const plain = await shell.execute(["sh", "-c", 'printf "a b\\n"; echo oops >&2; exit 3']);
  assertEquals(plain, { code: 3, stdout: "a b\n", stderr: "oops\n" });
  const noNewline = await shell.execute(["printf", "%s", "no newline"]);
  assertEquals(noNewline, { code: 0, stdout: "no newline", stderr: "" });
  // Quoting: a word with quotes, `$()` and a newline arrives literally.
  const literal = await shell.execute(["printf", "%s", `it's $(id) "x"\nnext`]);
  assertEquals(literal.stdout, `it's $(id) "x"\nnext`);
  // Stdin is closed: a command reading it ends at once.
  assertEquals((await shell.execute(["cat"])).stdout, "");
  // Issued together, they run one after another, each with its own answer.
  const many = await Promise.all(
    Array.from({ length: 20 }, (_, i) => shell.execute(["sh", "-c", `echo ${i}; echo e${i} >&2`])),
  );
  assertEquals(many.map((r) => r.stdout), Array.from({ length: 20 }, (_, i) => `${i}\n`));
  assertEquals(many.map((r) => r.stderr), Array.from({ length: 20 }, (_, i) => `e${i}\n`));
}

Deno.test("HostShell runs commands one after another in one shell, each with its own stdout, stderr and exit code", async () => {
  const { remote, spawned } = counting(new LocalRemote());
  const shell = new HostShell(remote);
  try {
    await exerciseShell(shell);
    assertEquals(spawned(), 1);
  } finally {
    await shell.close();
  }
});

Deno.test("HostShell ends the shell of an aborted command and serves the next from a new one", async () => {
  const { remote, spawned } = counting(new LocalRemote());
  const shell = new HostShell(remote);
  try {
    const abort = new AbortController();
    const sleeping = shell.execute(["sleep", "30"], { signal: abort.signal });
    setTimeout(() => abort.abort(new Error("stop")), 100);
    assertEquals((await assertRejects(() => sleeping, Error)).message, "stop");
    assertEquals((await shell.execute(["echo", "again"])).stdout, "again\n");
    assertEquals(spawned(), 2);
  } finally {
    await shell.close();
  }
  assert((await assertRejects(() => shell.execute(["true"]), Error)).message.includes("closed"));
});

Deno.test("HostShell over SSH runs every command on one channel, one login [integration: ssh, testbed]", async () => {
  const bed = await testbed();
  const ssh = await SshRemote.connect(sshOptions(bed, bed.hostB));
  const { remote, spawned } = counting(ssh);
  const traced: string[] = [];
  const shell = new HostShell(remote, { trace: (line) => traced.push(line) });
  try {
    await exerciseShell(shell);
    assertEquals(spawned(), 1);
    // Host B's sessions carry DOCKER_HOST (sshd SetEnv): the shell is a session like any other.
    const env = await shell.execute(["printenv", "DOCKER_HOST"]);
    assertEquals(env.stdout.trim(), bed.hostB.dockerHost);
    assert(
      traced.some((line) => /^hostb: shell `printenv DOCKER_HOST` \d+ ms, exit 0$/.test(line)),
    );
  } finally {
    await shell.close();
    await ssh.close();
  }
});
