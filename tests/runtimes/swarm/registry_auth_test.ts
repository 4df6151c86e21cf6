import { assertEquals, assertThrows } from "../../support/assert.ts";
import {
  dockerConfigPath,
  RegistryAuthError,
  registryAuthFrom,
} from "../../../src/runtimes/swarm/registry_auth.ts";

Deno.test("registryAuthFrom reads docker login's auth of the registry's host; none for a host without an entry", () => {
  const config = JSON.stringify({
    auths: {
      "reg.example.com:5000": { auth: btoa("ci:s3:cret") },
      "tok.example.com": { identitytoken: "t0k" },
    },
  });
  assertEquals(registryAuthFrom("reg.example.com:5000/team", config, "c.json"), {
    username: "ci",
    password: "s3:cret",
    serveraddress: "reg.example.com:5000",
  });
  assertEquals(registryAuthFrom("tok.example.com", config, "c.json"), {
    identitytoken: "t0k",
    serveraddress: "tok.example.com",
  });
  assertEquals(registryAuthFrom("127.0.0.1:5000", config, "c.json"), {});
});

Deno.test("registryAuthFrom refuses credentials kept by a helper, and a config that is not JSON, naming the file", () => {
  const helper = JSON.stringify({ auths: { "reg.example.com": {} }, credsStore: "desktop" });
  const error = assertThrows(
    () => registryAuthFrom("reg.example.com", helper, "/h/.docker/config.json"),
    RegistryAuthError,
  );
  assertEquals(error.message.includes("docker-credential-desktop"), true);
  assertEquals(error.message.includes("/h/.docker/config.json"), true);
  assertThrows(() => registryAuthFrom("reg.example.com", "{", "c.json"), RegistryAuthError);
});

Deno.test("dockerConfigPath is $DOCKER_CONFIG/config.json, else ~/.docker/config.json", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(dockerConfigPath(env({ DOCKER_CONFIG: "/d", HOME: "/h" })), "/d/config.json");
  assertEquals(dockerConfigPath(env({ HOME: "/h" })), "/h/.docker/config.json");
  assertEquals(dockerConfigPath(env({})), undefined);
});
