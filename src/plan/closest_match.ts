/**
 * "Did you mean": the closest known name to a mistyped one, for config messages.
 */

/** `unknown peer "alcie" (did you mean "alice"?)`. */
export function unknownPeer(name: string, known: readonly string[]): string {
  const near = closestMatch(name, known);
  return `unknown peer "${name}"` + (near ? ` (did you mean "${near}"?)` : "");
}

/**
 * The candidate closest to `word` by optimal-string-alignment distance (a swap of two
 * neighbours counts as one edit), if it is within a third of the word's length (at least 1;
 * words of three letters or fewer only match when they differ in case alone).
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const limit = word.length <= 3 ? 0 : Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => {
    const row = new Array<number>(b.length + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
