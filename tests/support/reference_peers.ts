/**
 * Test support: the reference peer of each client library (lib/<language>/), how to build it
 * with this machine's toolchain and the command line that runs it from the repository root.
 * The conformance test runs each with lib/conformance/run.ts; the cross-language end-to-end
 * test packs each into an image with lib/<language>/scratch-image.sh.
 */

export const ROOT = new URL("../../", import.meta.url).pathname;

/** One language's reference peer. */
export interface ReferencePeer {
  language: "typescript" | "python" | "go" | "rust";
  /** The library's directory, relative to the repository root. */
  dir: string;
  /** The program that must be on PATH to build or run it. */
  toolchain: string;
  /** The build, run in `dir` (none: nothing to build). */
  build?: string[];
  /** What `build` must have produced (relative to the root): the build failed without it. */
  built?: string;
  /** What to do when the build cannot even start (its program is missing). */
  hint?: string;
  /** The peer's command line, run from the repository root (`--peer-cmd`). */
  command: string;
}

/** The four reference peers, in the order the tests report them. */
export const REFERENCE_PEERS: readonly ReferencePeer[] = [
  {
    language: "typescript",
    dir: "lib/typescript",
    toolchain: "deno",
    command: "deno run -A --quiet lib/typescript/reference_peer.ts",
  },
  {
    language: "python",
    dir: "lib/python",
    toolchain: "python3",
    // The package and its dependencies live in lib/python/.venv, which lib/python/check.sh
    // creates (.ci/run runs it first): "building" is importing the peer there.
    build: [".venv/bin/python", "-c", "import the_mule.reference_peer"],
    hint: "run lib/python/check.sh first: it creates lib/python/.venv",
    command: "lib/python/.venv/bin/python -m the_mule.reference_peer",
  },
  {
    language: "go",
    dir: "lib/go",
    toolchain: "go",
    build: ["go", "build", "-o", "bin/reference-peer", "./cmd/reference-peer"],
    built: "lib/go/bin/reference-peer",
    command: "lib/go/bin/reference-peer",
  },
  {
    language: "rust",
    dir: "lib/rust",
    toolchain: "cargo",
    build: ["cargo", "build", "--quiet", "--locked", "-p", "reference-peer"],
    built: "lib/rust/target/debug/reference-peer",
    command: "lib/rust/target/debug/reference-peer",
  },
];

/** True if `path` (relative to the root) exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(`${ROOT}${path}`);
    return true;
  } catch {
    return false;
  }
}

/** True if `program` is on PATH. */
export function onPath(program: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${program}`).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * Why this language's peer cannot be checked here, or undefined when it can: its library is
 * not in the tree yet (lands when its branch is merged), or its toolchain is not installed.
 */
export function unavailable(peer: ReferencePeer): string | undefined {
  if (!exists(peer.dir)) return `${peer.dir}/ does not exist in this tree yet`;
  if (!onPath(peer.toolchain)) return `${peer.toolchain} is not installed`;
  return undefined;
}

/** The peer did not build: carries the build's output. */
export class PeerBuildError extends Error {
  constructor(readonly peer: ReferencePeer, readonly output: string) {
    super(`the ${peer.language} reference peer did not build:\n${output}`);
    this.name = "PeerBuildError";
  }
}

/** Builds the peer (if it has a build); throws PeerBuildError when that fails. */
export async function buildPeer(peer: ReferencePeer): Promise<void> {
  if (!peer.build) return;
  const [program, ...args] = peer.build;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(program, {
      args,
      cwd: `${ROOT}${peer.dir}`,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    const why = `${peer.build.join(" ")}: ${(error as Error).message}`;
    throw new PeerBuildError(peer, peer.hint ? `${why}; ${peer.hint}` : why);
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new PeerBuildError(peer, `${peer.build.join(" ")}: exit ${out.code}\n${text}`);
  }
  if (peer.built && !exists(peer.built)) {
    throw new PeerBuildError(
      peer,
      `${peer.build.join(" ")} did not produce ${peer.built}\n${text}`,
    );
  }
}

/** Builds `lib/<language>/scratch-image.sh <tag>`'s image; throws with its output on failure. */
export async function scratchImage(dir: string, tag: string): Promise<void> {
  const script = `${dir}/scratch-image.sh`;
  if (!exists(script)) throw new Error(`${script} is missing: every library provides one`);
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}${script}`, tag],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${script} ${tag} failed (exit ${out.code}):\n${text}`);
}
