/**
 * Bounds on YAML aliases (`*name`), so that a hostile config file costs tm linear work and ends
 * in a positioned config error instead of minutes of CPU or an unpositioned crash.
 *
 * Why not only the yaml library's `maxAliasCount`: it is checked while `toJS()` resolves each alias,
 * and that resolution scans every anchor and alias before it, so a 350 KB file with 50,000
 * aliases took over two minutes to reach the check, which then threw without a position.
 * Here aliases are counted on the token stream before the document is even composed (stopping at
 * the first alias over the limit), then resolved in one pass, and what they expand to is bounded
 * (a "billion laughs" file has few aliases but expands them exponentially).
 */
import { CST, type Document, isAlias, isCollection, isPair, Lexer, type Node, visit } from "yaml";

/** Most alias references (and, apart, most anchors) a config may hold; hand-written ones use a handful. */
export const MAX_ALIASES = 1_000;

/** Most nodes all aliases together may stand for once expanded (nested aliases multiply). */
export const MAX_ALIAS_EXPANSION = 100_000;

/** A problem with an alias, at its offset in the source. */
export interface AliasProblem {
  offset: number;
  message: string;
}

/** Lexer marker tokens that stand for no source text (document start, flow end, scalar). */
const MARKERS = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * The alias (or anchor) beyond MAX_ALIASES, found on the token stream (cheap: the lexer stops
 * there), or undefined when the text has at most MAX_ALIASES of each. Resolving an alias scans
 * the anchors and aliases before it, so both counts bound that work.
 */
export function aliasBeyondLimit(text: string): AliasProblem | undefined {
  let offset = 0;
  const seen = { alias: 0, anchor: 0 };
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if ((type === "alias" || type === "anchor") && ++seen[type] > MAX_ALIASES) {
      return {
        offset,
        message:
          `invalid YAML: more than ${MAX_ALIASES} ${type === "alias" ? "aliases" : "anchors"} ` +
          `(${token}); tm reads at most ` +
          `${MAX_ALIASES} per file: repeat the value instead`,
      };
    }
    if (!MARKERS.has(token)) offset += token.length;
  }
  return undefined;
}

/** Every alias of a document with the node it refers to, and what is wrong with them. */
export interface AliasIndex {
  /** Alias node → the anchored node it stands for. */
  targets: Map<Node, Node>;
  /** Empty when every alias resolves, none is cyclic and the expansion is within bounds. */
  problems: AliasProblem[];
}

/**
 * Resolves every alias of `doc` in one pass (to the latest anchor of that name before it, as
 * YAML says) and reports each alias with no anchor, one that refers to a node containing it, and
 * the alias at which the expansion passes MAX_ALIAS_EXPANSION (then stops looking).
 */
export function indexAliases(doc: Document): AliasIndex {
  const anchors = new Map<string, Node>();
  const targets = new Map<Node, Node>();
  const problems: AliasProblem[] = [];
  const aliases: Node[] = [];
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target) targets.set(node, target);
        else {
          problems.push({
            offset: node.range?.[0] ?? 0,
            message: `invalid YAML: alias *${node.source} refers to no anchor &${node.source}`,
          });
        }
        aliases.push(node);
      }
      if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return {
    targets,
    problems: problems.length > 0 ? problems : expansionProblems(aliases, targets),
  };
}

/** The first alias at which the expansion passes MAX_ALIAS_EXPANSION, or a cyclic one. */
function expansionProblems(aliases: Node[], targets: Map<Node, Node>): AliasProblem[] {
  // Nodes each subtree stands for with its aliases expanded, memoised per node (linear).
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  const size = (node: unknown): number => {
    if (isPair(node)) return size(node.key) + size(node.value);
    if (!node || typeof node !== "object") return 0;
    const known = sizes.get(node as Node);
    if (known !== undefined) return known;
    if (open.has(node as Node)) return Infinity;
    open.add(node as Node);
    let total = 1;
    if (isAlias(node)) total = size(targets.get(node));
    else if (isCollection(node)) {
      for (const item of node.items) {
        total += size(item);
        if (total > MAX_ALIAS_EXPANSION) break;
      }
    }
    open.delete(node as Node);
    sizes.set(node as Node, total);
    return total;
  };
  let expanded = 0;
  for (const alias of aliases) {
    const offset = alias.range?.[0] ?? 0;
    const source = (alias as Node & { source: string }).source;
    const added = size(alias);
    if (added === Infinity) {
      return [{
        offset,
        message: `invalid YAML: alias *${source} refers to a node that contains it (a cycle)`,
      }];
    }
    expanded += added;
    if (expanded > MAX_ALIAS_EXPANSION) {
      return [{
        offset,
        message:
          `invalid YAML: aliases expand to more than ${MAX_ALIAS_EXPANSION} values by *${source} ` +
          "(nested aliases multiply); a tm config needs far fewer",
      }];
    }
  }
  return [];
}
