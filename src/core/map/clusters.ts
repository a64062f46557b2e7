import { seededRandom } from '../random';

/**
 * Regions of the map: k-means on the 2-D layout (what the user sees as a region is a patch of the
 * map, not of the full space), each named by the terms that set its chunks apart from the rest.
 */

/** The number of regions for `n` points: enough to name the parts of a codebase, few enough to read. */
export function regionCount(n: number): number {
  return Math.max(Math.min(Math.round(Math.sqrt(n / 12)), 40), Math.min(n, 3));
}

/** k-means of `x0, y0, …`: the best of a few k-means++ starts (one can merge two clusters and split another). */
export function kMeans(xy: Float32Array, n: number, k: number, starts = 4): { assignment: Int32Array; centres: Float64Array } {
  let best: { assignment: Int32Array; centres: Float64Array; cost: number } | undefined;
  for (let seed = 11; seed < 11 + starts; seed++) {
    const run = lloyd(xy, n, k, seed);
    if (!best || run.cost < best.cost) best = run;
  }
  return { assignment: best!.assignment, centres: best!.centres };
}

/** One k-means run: k-means++ seeding, then Lloyd steps; `cost` is the sum of squared distances. */
function lloyd(xy: Float32Array, n: number, k: number, seed: number): { assignment: Int32Array; centres: Float64Array; cost: number } {
  const random = seededRandom(seed);
  const centres = new Float64Array(2 * k);
  const nearest = new Float64Array(n).fill(Infinity);
  let pick = Math.floor(random() * n);
  for (let c = 0; c < k; c++) {
    centres[2 * c] = xy[2 * pick]!;
    centres[2 * c + 1] = xy[2 * pick + 1]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dx = xy[2 * i]! - centres[2 * c]!;
      const dy = xy[2 * i + 1]! - centres[2 * c + 1]!;
      nearest[i] = Math.min(nearest[i]!, dx * dx + dy * dy);
      total += nearest[i]!;
    }
    // The next centre is drawn with probability proportional to the squared distance to the nearest one so far.
    let r = random() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= nearest[i]!;
      if (r <= 0) {
        pick = i;
        break;
      }
    }
  }
  const assignment = new Int32Array(n);
  const sums = new Float64Array(2 * k);
  const counts = new Int32Array(k);
  let cost = 0;
  for (let iter = 0; iter < 30; iter++) {
    let moved = 0;
    cost = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const dx = xy[2 * i]! - centres[2 * c]!;
        const dy = xy[2 * i + 1]! - centres[2 * c + 1]!;
        const d = dx * dx + dy * dy;
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      if (assignment[i] !== best || iter === 0) moved++;
      assignment[i] = best;
      cost += bestD;
    }
    if (moved === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      sums[2 * c]! += xy[2 * i]!;
      sums[2 * c + 1]! += xy[2 * i + 1]!;
      counts[c]!++;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      centres[2 * c] = sums[2 * c]! / counts[c]!;
      centres[2 * c + 1] = sums[2 * c + 1]! / counts[c]!;
    }
  }
  return { assignment, centres, cost };
}

// Words of every language's syntax and of every codebase: they name no region.
const COMMON = new Set(
  (
    'function return const let var new this self that else elif then for while with from import export default class ' +
    'def public private protected static void int string bool boolean true false null none nil undefined type struct ' +
    'interface func package async await try catch except finally throw raise err error value values data object ' +
    'get set args kwargs param params result results options option item items name names key keys list index ' +
    'number len length str dict map make var and not the are use used uses using can may must should will also ' +
    'one two all any each other when where which what how there here some more most only into out see via its ' +
    'pass break continue case switch yield lambda super extends implements module require exports prototype call ' +
    'callback cb opts obj val ret res req ctx tmp foo bar baz test tests expect assert should describe equal'
  ).split(' '),
);

/** A term worth showing: a word, not a number, a syntax keyword or a glued whole identifier. */
function labelWorthy(term: string): boolean {
  return term.length >= 3 && term.length <= 14 && /^[a-z][a-z0-9]*$/.test(term) && !/\d{2}/.test(term) && !COMMON.has(term);
}

/** A whole identifier that the keyword index also holds in parts ("simulateget": "simulate", "get"): the parts say it better. */
function glued(term: string, present: ReadonlyMap<string, number>): boolean {
  for (let i = 3; i <= term.length - 3; i++) if (present.has(term.slice(0, i)) && present.has(term.slice(i))) return true;
  return false;
}

/**
 * The `top` terms of each region, by how much more often its chunks contain them than the whole
 * map does (a term in at least a tenth of the region's chunks, weighed by its rarity overall).
 * `termsOf(i)` lists the distinct terms of point i.
 */
export function regionTerms(assignment: Int32Array, k: number, termsOf: (i: number) => readonly string[], top = 3): string[][] {
  const n = assignment.length;
  const df = new Map<string, number>();
  const perRegion = Array.from({ length: k }, () => new Map<string, number>());
  const sizes = new Int32Array(k);
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const region = perRegion[assignment[i]!]!;
    sizes[assignment[i]!]!++;
    for (const t of termsOf(i)) {
      seen.set(t, (seen.get(t) ?? 0) + 1);
      if (!labelWorthy(t)) continue;
      df.set(t, (df.get(t) ?? 0) + 1);
      region.set(t, (region.get(t) ?? 0) + 1);
    }
  }
  return perRegion.map((region, c) => {
    const size = sizes[c]!;
    const scored: [string, number][] = [];
    for (const [t, count] of region) {
      if (count < Math.max(2, 0.1 * size)) continue;
      const share = count / size;
      const overall = df.get(t)! / n;
      scored.push([t, share * Math.log(share / overall + 1) * Math.log(n / df.get(t)! + 1)]);
    }
    scored.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const picked: string[] = [];
    for (const [t] of scored) {
      // "upload" and "uploader" say one thing: keep the first.
      if (picked.some((p) => t.startsWith(p) || p.startsWith(t)) || glued(t, seen)) continue;
      picked.push(t);
      if (picked.length === top) break;
    }
    // The stemmer cuts "compiled" to "compil"; show the word when the corpus has it about as often.
    return picked.map((t) => (t.length >= 5 && (seen.get(`${t}e`) ?? 0) >= 0.3 * seen.get(t)! ? `${t}e` : t));
  });
}
