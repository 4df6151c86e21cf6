/**
 * The credentials of a swarm's `registry:` for its push's `X-Registry-Auth`, read from the
 * Docker client's config as `docker login` leaves it (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`): the entry of `auths` for the registry's host, its `auth` (base64 of
 * `user:password`) or its `identitytoken`. No entry, or no file: no credentials (`{}`), as for a
 * registry that needs none. Credentials kept by a helper (`credsStore`, `credHelpers`) are not
 * read: that needs running `docker-credential-<helper>`; the error then says to log in another way.
 */

/** The registry's entry in the Docker client's config cannot be used. */
export class RegistryAuthError extends Error {
  constructor(readonly registry: string, readonly file: string, readonly reason: string) {
    super(`the credentials for ${registry} in ${file}: ${reason}`);
    this.name = "RegistryAuthError";
  }
}

/** What `auths.<host>` of the Docker client's config holds. */
interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The Docker client's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: (name: string) => string | undefined): string | undefined {
  const dir = env("DOCKER_CONFIG") ?? (env("HOME") ? `${env("HOME")}/.docker` : undefined);
  return dir === undefined ? undefined : `${dir}/config.json`;
}

/**
 * The `X-Registry-Auth` object for `registry` (`host[:port][/path]`) from the config's text.
 * Pure. @throws RegistryAuthError when the entry is there but cannot be read
 */
export function registryAuthFrom(
  registry: string,
  configText: string,
  file: string,
): Record<string, string> {
  const host = registry.split("/")[0];
  let config: {
    auths?: Record<string, AuthEntry>;
    credHelpers?: Record<string, string>;
    credsStore?: string;
  };
  try {
    config = JSON.parse(configText);
  } catch (error) {
    throw new RegistryAuthError(registry, file, `not JSON (${(error as Error).message})`);
  }
  const entry = config.auths?.[host] ?? config.auths?.[`http://${host}`] ??
    config.auths?.[`https://${host}`];
  const helper = config.credHelpers?.[host] ?? (entry && !entry.auth ? config.credsStore : "");
  if (helper) {
    throw new RegistryAuthError(
      registry,
      file,
      `kept by the credential helper docker-credential-${helper}, which tm does not run: ` +
        `give the registry's credentials in auths.${host}.auth, or use a registry without login`,
    );
  }
  if (!entry) return {};
  if (entry.identitytoken) return { identitytoken: entry.identitytoken, serveraddress: host };
  if (entry.auth) {
    let decoded: string;
    try {
      decoded = atob(entry.auth);
    } catch {
      throw new RegistryAuthError(registry, file, "auths.<host>.auth is not base64");
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new RegistryAuthError(registry, file, "auth is not user:password");
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      serveraddress: host,
    };
  }
  if (entry.username && entry.password) {
    return { username: entry.username, password: entry.password, serveraddress: host };
  }
  return {};
}

/** The credentials for `registry` from this machine's Docker client config; `{}` if none. */
export async function registryAuth(registry: string): Promise<Record<string, string>> {
  const file = dockerConfigPath((name) => Deno.env.get(name));
  if (file === undefined) return {};
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new RegistryAuthError(registry, file, (error as Error).message);
  }
  return registryAuthFrom(registry, text, file);
}
