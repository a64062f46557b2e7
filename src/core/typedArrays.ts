/**
 * A copy of `a` in a new array of the same kind with room for `length` elements (the rest zero):
 * how the indexes' typed buffers grow, by doubling, instead of holding boxed numbers in arrays.
 */
export function grown<T extends Int32Array | Uint32Array | Uint16Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** Rows of a row-major matrix, each a vector of its own (a copy, not a view). */
export function splitRows(matrix: Float32Array, dimension: number): Float32Array[] {
  const rows: Float32Array[] = [];
  if (dimension === 0) return rows;
  for (let at = 0; at < matrix.length; at += dimension) rows.push(matrix.slice(at, at + dimension));
  return rows;
}
