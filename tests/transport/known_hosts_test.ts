import { assert, assertEquals } from "../support/assert.ts";
import {
  appendKnownHost,
  checkHostKey,
  entryMatches,
  fingerprint,
  hostName,
  keyTypeLabel,
  keyTypeOf,
  knownHostsLine,
  knownKeyTypes,
  parseKnownHosts,
} from "../../src/transport/known_hosts.ts";
import { Buffer } from "node:buffer";

// Fixtures made with ssh-keygen (fingerprints from `ssh-keygen -lf`, hashed lines from `-H`).
const ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAID1x/0AlA9rbOwJz7PrrUfWtNrVtvBvXlTZ3kh3S6KIK";
const ED25519_PRINT = "SHA256:8kEBAtLE/n8ROQkhWMnHyxQYPmoTO1jeATYL01LvqeI";
const ECDSA =
  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMK7JCkH8LurKiBYs0QaThnNMf3L/QYA3I4HpaHV8zk5wodoMAMbyD11HDttCl6ogyRjKqHg0o+nlmsdMvwNrMA=";
const ECDSA_PRINT = "SHA256:8bDNEzVCP/m6Pkx/voihDoydnG0zyN6ugduJeSSmV1I";
const RSA =
  "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCXfa9LhdI9Re0FB5df5U5TmRu7TH/z/ZGOAZjTKv40MGEQycmRFV96qAHItfe+Li3t2lSiomUNmmcdmg/sZo64xBl0KAU3InuvJeTbqIxnG+nrEHyQaQgyWDWeviScc/mGTGmbxU8vqAUofHVGOs6Uqdf3q6sajyEOc1WFzP4xXQ==";
const RSA_PRINT = "SHA256:fnPiEocgr/qxmx8XocH25Ro7V7otpypfTivOhC+CZjE";
// `ssh-keygen -H` of "[example.com]:2222 <ED25519>" and "example.org <ECDSA>".
const HASHED_PORT = "|1|WZO+bHxkmjDX5d8I7VeGb7CmJns=|TVx9x4m6jRfoZoOE0iG5P8PDCW4=";
const HASHED_ORG = "|1|p+2AG7dRNcrVi0ZDE5pgP7J4new=|NNrAwH7pkWA388E9szjg+OEZFUM=";

const blob = (base64: string) => new Uint8Array(Buffer.from(base64, "base64"));

Deno.test("parseKnownHosts() reads plain, hashed, bracketed and marked lines and skips the rest", () => {
  const entries = parseKnownHosts([
    "# a comment",
    "",
    `example.com,192.0.2.7 ssh-ed25519 ${ED25519} user@laptop`,
    `  [example.com]:2222 ecdsa-sha2-nistp256 ${ECDSA}`,
    `${HASHED_ORG} ecdsa-sha2-nistp256 ${ECDSA}`,
    `@revoked old.example.com ssh-rsa ${RSA}`,
    `@cert-authority *.example.com ssh-ed25519 ${ED25519}`,
    `@bogus-marker x ssh-ed25519 ${ED25519}`,
    "only-two fields",
    `bad.example.com ssh-ed25519 not*base64`,
    `|2|unknown|version ssh-ed25519 ${ED25519}`,
  ].join("\n"));
  assertEquals(entries.map((e) => [e.line, e.marker, e.patterns, e.keyType]), [
    [3, null, ["example.com", "192.0.2.7"], "ssh-ed25519"],
    [4, null, ["[example.com]:2222"], "ecdsa-sha2-nistp256"],
    [5, null, null, "ecdsa-sha2-nistp256"],
    [6, "revoked", ["old.example.com"], "ssh-rsa"],
    [7, "cert-authority", ["*.example.com"], "ssh-ed25519"],
  ]);
  assert(entries[2].hashed !== null);
  assertEquals(entries[2].hashed.hash.length, 20);
  assertEquals(entries[0].key, blob(ED25519));
});

Deno.test("entryMatches() compares hashed entries with HMAC-SHA1 of host or [host]:port", () => {
  const [portEntry, orgEntry] = parseKnownHosts(
    `${HASHED_PORT} ssh-ed25519 ${ED25519}\n${HASHED_ORG} ecdsa-sha2-nistp256 ${ECDSA}\n`,
  );
  assert(entryMatches(portEntry, "example.com", 2222));
  assert(!entryMatches(portEntry, "example.com", 22));
  assert(!entryMatches(portEntry, "example.com", 2223));
  assert(entryMatches(orgEntry, "example.org", 22));
  assert(entryMatches(orgEntry, "EXAMPLE.org"), "host names are case-insensitive");
  assert(!entryMatches(orgEntry, "example.org", 2222));
});

Deno.test("entryMatches() handles port brackets, wildcards and negations like OpenSSH", () => {
  const entries = parseKnownHosts([
    `[10.0.0.1]:2222 ssh-ed25519 ${ED25519}`,
    `*.lab.example,!secret.lab.example ssh-ed25519 ${ED25519}`,
    `host?? ssh-ed25519 ${ED25519}`,
  ].join("\n"));
  assert(entryMatches(entries[0], "10.0.0.1", 2222));
  assert(!entryMatches(entries[0], "10.0.0.1", 22), "port 22 uses the bare name");
  assert(!entryMatches(entries[0], "10.0.0.10", 2222), "dots are literal");
  assert(entryMatches(entries[1], "a.lab.example"));
  assert(!entryMatches(entries[1], "secret.lab.example"), "a matching negation excludes");
  assert(!entryMatches(entries[1], "lab.example"));
  assert(entryMatches(entries[2], "host01"));
  assert(!entryMatches(entries[2], "host1"));
});

Deno.test("checkHostKey() says known, changed, unknown or revoked", () => {
  const entries = parseKnownHosts([
    `a.example ssh-ed25519 ${ED25519}`,
    `${HASHED_ORG} ecdsa-sha2-nistp256 ${ECDSA}`,
    `b.example ssh-rsa ${RSA}`,
    `@revoked c.example ssh-ed25519 ${ED25519}`,
    `@cert-authority d.example ssh-ed25519 ${ED25519}`,
  ].join("\n"));
  assertEquals(checkHostKey(entries, "a.example", 22, blob(ED25519)).status, "known");
  assertEquals(checkHostKey(entries, "example.org", 22, blob(ECDSA)).status, "known");
  const changed = checkHostKey(
    entries,
    "example.org",
    22,
    blob(ECDSA.replace("ogyRjKq", "ogyRjKr")),
  );
  assertEquals(changed.status, "changed");
  assert(changed.status === "changed" && changed.entry.line === 2);
  assertEquals(
    checkHostKey(entries, "a.example", 22, blob(ECDSA)).status,
    "unknown",
    "known only with another key type: new, as OpenSSH treats it",
  );
  assertEquals(checkHostKey(entries, "a.example", 2222, blob(ED25519)).status, "unknown");
  assertEquals(checkHostKey(entries, "c.example", 22, blob(ED25519)).status, "revoked");
  assertEquals(
    checkHostKey(entries, "d.example", 22, blob(ED25519)).status,
    "unknown",
    "a CA line is not a host key",
  );
});

Deno.test("knownKeyTypes() lists the key types recorded for a host", () => {
  const entries = parseKnownHosts([
    `h.example ecdsa-sha2-nistp256 ${ECDSA}`,
    `h.example,other ssh-ed25519 ${ED25519}`,
    `${HASHED_ORG} ecdsa-sha2-nistp256 ${ECDSA}`,
    `@revoked h.example ssh-rsa ${RSA}`,
  ].join("\n"));
  assertEquals(knownKeyTypes(entries, "h.example", 22), ["ecdsa-sha2-nistp256", "ssh-ed25519"]);
  assertEquals(knownKeyTypes(entries, "nowhere", 22), []);
});

Deno.test("fingerprint() and keyTypeLabel() print keys the way ssh-keygen -l does", () => {
  assertEquals(fingerprint(blob(ED25519)), ED25519_PRINT);
  assertEquals(fingerprint(blob(ECDSA)), ECDSA_PRINT);
  assertEquals(fingerprint(blob(RSA)), RSA_PRINT);
  assertEquals(keyTypeLabel(blob(ED25519)), "ED25519");
  assertEquals(keyTypeLabel(blob(ECDSA)), "ECDSA");
  assertEquals(keyTypeLabel(blob(RSA)), "RSA");
  assertEquals(keyTypeOf(blob(ECDSA)), "ecdsa-sha2-nistp256");
  assertEquals(keyTypeOf(new Uint8Array([0, 0, 0, 9, 1])), "", "truncated blob");
});

Deno.test("hostName() and knownHostsLine() use [host]:port only off port 22", () => {
  assertEquals(hostName("Example.COM"), "example.com");
  assertEquals(hostName("10.0.0.1", 2222), "[10.0.0.1]:2222");
  assertEquals(knownHostsLine("10.0.0.1", 22, blob(ED25519)), `10.0.0.1 ssh-ed25519 ${ED25519}`);
  assertEquals(
    knownHostsLine("10.0.0.1", 2222, blob(ECDSA)),
    `[10.0.0.1]:2222 ecdsa-sha2-nistp256 ${ECDSA}`,
  );
});

Deno.test("appendKnownHost() creates the file private and appends on a new line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-known-hosts-" });
  try {
    const path = `${dir}/ssh/known_hosts`;
    await appendKnownHost(path, "10.0.0.1", 2222, blob(ED25519));
    assertEquals(await Deno.readTextFile(path), `[10.0.0.1]:2222 ssh-ed25519 ${ED25519}\n`);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/ssh`)).mode! & 0o777, 0o700);

    const unterminated = `${dir}/unterminated`;
    await Deno.writeTextFile(unterminated, `a.example ssh-rsa ${RSA}`);
    await appendKnownHost(unterminated, "b.example", 22, blob(ECDSA));
    const text = await Deno.readTextFile(unterminated);
    assertEquals(text, `a.example ssh-rsa ${RSA}\nb.example ecdsa-sha2-nistp256 ${ECDSA}\n`);
    const entries = parseKnownHosts(text);
    assertEquals(checkHostKey(entries, "b.example", 22, blob(ECDSA)).status, "known");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
