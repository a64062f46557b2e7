/**
 * Winnowing (Schleimer, Wilkerson and Aiken, 2003) over normalized tokens: of the hashes of every
 * k tokens, keep the smallest in each window of w. Two files that share any run of at least
 * w + k - 1 tokens are then guaranteed to share a kept hash, while only about 2 / (w + 1) of the
 * hashes are kept.
 */

export interface Fingerprints {
  /** Kept k-gram hashes, in file order. */
  hashes: Int32Array;
  /** Token offset at which each kept k-gram starts. */
  positions: Int32Array;
}

export interface WinnowShape {
  /** Tokens per hashed gram. */
  k: number;
  /** Grams per window. */
  w: number;
}

/** The gram and window sizes that guarantee a hit for every shared run of `minTokens` tokens. */
export function shapeFor(minTokens: number): WinnowShape {
  const k = Math.max(4, Math.min(16, Math.floor(minTokens / 3)));
  return { k, w: Math.max(1, minTokens - k + 1) };
}

const BASE = 0x01000193;

/** Hash of tokens[start..start+k), the same function `winnow` rolls. */
export function gramHash(tokens: Int32Array, start: number, k: number): number {
  let h = 0;
  for (let j = 0; j < k; j++) h = (Math.imul(h, BASE) + tokens[start + j]!) | 0;
  return mix(h);
}

export function winnow(tokens: Int32Array, shape: WinnowShape): Fingerprints {
  const { k, w } = shape;
  const grams = tokens.length - k + 1;
  if (grams <= 0) return { hashes: new Int32Array(0), positions: new Int32Array(0) };
  const gram = new Int32Array(grams);
  // Rolling polynomial hash: drop the outgoing token's contribution (BASE^(k-1)), add the new one.
  let top = 1;
  for (let j = 1; j < k; j++) top = Math.imul(top, BASE);
  let h = 0;
  for (let j = 0; j < k; j++) h = (Math.imul(h, BASE) + tokens[j]!) | 0;
  gram[0] = mix(h);
  for (let i = 1; i < grams; i++) {
    h = (Math.imul(h - Math.imul(tokens[i - 1]!, top), BASE) + tokens[i + k - 1]!) | 0;
    gram[i] = mix(h);
  }

  const hashes: number[] = [];
  const positions: number[] = [];
  // Monotonic deque of gram indices whose hashes increase from front to back: the front is the
  // window's minimum. Ties keep the rightmost, as the paper prescribes, so runs of equal hashes
  // are not all kept.
  const deque = new Int32Array(grams);
  let head = 0;
  let tail = 0;
  let lastKept = -1;
  for (let i = 0; i < grams; i++) {
    while (tail > head && gram[deque[tail - 1]!]! >= gram[i]!) tail--;
    deque[tail++] = i;
    if (deque[head]! <= i - w) head++;
    if (i >= w - 1 || i === grams - 1) {
      const min = deque[head]!;
      if (min !== lastKept) {
        hashes.push(gram[min]!);
        positions.push(min);
        lastKept = min;
      }
    }
  }
  return { hashes: Int32Array.from(hashes), positions: Int32Array.from(positions) };
}

/** Murmur3's finalizer: spreads the polynomial hash so the window minimum is not biased by token ids. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
