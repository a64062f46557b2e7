import { code, compileModule, ensureMemory, I32, oneFunctionModule, op, V128, wasm, type WasmMemory } from './wasm';

/**
 * Reads the vectors of a shard: runs of `count` comma-separated integers in -127..127 closed by
 * `]`, the one part of a Vectra index file that is most of its bytes (about 4 per dimension).
 *
 * Shard bytes are copied (or read directly) into memory the reader owns, with room after them for
 * the decoded vectors; a shard's vectors land at consecutive item numbers. Two implementations
 * give identical results: a hand-assembled WebAssembly SIMD function, and plain JavaScript for a
 * runtime without WebAssembly SIMD.
 */
export interface VectorDigits {
  /** A buffer of `size` bytes in the reader's memory to put a shard's bytes in, valid until `reserve`. */
  input(size: number): Buffer;
  /** Makes room for `items` vectors of `dimension` values; views taken earlier may be invalid after it. */
  reserve(items: number, dimension: number): void;
  /** The input bytes (as last given to `input`). */
  bytes(): Buffer;
  /** Decoded vectors, item after item. */
  vectors(): Int8Array;
  /** Per item, the sum of |x| and the sum of x² of its vector. */
  sums(): Int32Array;
  /**
   * Reads `count` values from byte `p` of the input into item `item`; returns the position after
   * the closing `]`, or -1 if the bytes there are anything else. Never reads past `end`.
   */
  read(p: number, end: number, item: number, count: number): number;
  readonly simd: boolean;
}

/** The SIMD reader where the runtime has WebAssembly SIMD (`simd: false` forces the JavaScript one). */
export function createVectorDigits(simd = true): VectorDigits {
  try {
    if (simd) return new WasmDigits();
  } catch {
    // no WebAssembly SIMD here
  }
  return new JsDigits();
}

/** SIMD loads read up to 16 bytes past the last one looked at. */
const SLACK = 32;

let compiled: object | undefined | null;

class WasmDigits implements VectorDigits {
  readonly simd = true;
  private readonly memory: WasmMemory;
  private readonly digits: (p: number, end: number, count: number, out: number, sums: number) => number;
  private inputSize = 0;
  private inputRoom = 0;
  private vectorsAt = 0;
  private sumsAt = 0;
  private items = 0;
  private dimension = 1;
  private views: { buffer: ArrayBuffer; bytes: Buffer; vectors: Int8Array; sums: Int32Array } | undefined;

  constructor() {
    if (compiled === undefined) compiled = compileModule(assembleDigitsModule()) ?? null;
    if (!compiled || !wasm) throw new Error('WebAssembly SIMD is not available');
    this.memory = new wasm.Memory({ initial: 1 });
    this.digits = new wasm.Instance(compiled, { m: { m: this.memory } }).exports['digits'] as WasmDigits['digits'];
  }

  input(size: number): Buffer {
    if (size + SLACK > this.inputRoom) {
      // Output moves up with the input; both are rewritten for every shard anyway.
      this.inputRoom = Math.ceil((size + SLACK) * 1.25);
      this.layout(0, this.dimension);
    }
    this.inputSize = size;
    this.view().bytes.fill(0, size, size + SLACK);
    return this.view().bytes.subarray(0, size);
  }

  reserve(items: number, dimension: number): void {
    if (items > this.items || dimension !== this.dimension) this.layout(Math.ceil(items * 1.25), dimension);
  }

  bytes(): Buffer {
    return this.view().bytes.subarray(0, this.inputSize);
  }

  vectors(): Int8Array {
    return this.view().vectors;
  }

  sums(): Int32Array {
    return this.view().sums;
  }

  read(p: number, end: number, item: number, count: number): number {
    if (item >= this.items || p >= end || end > this.inputSize) return -1;
    return this.digits(p, end, count, this.vectorsAt + item * this.dimension, this.sumsAt + item * 8);
  }

  private layout(items: number, dimension: number): void {
    this.items = items;
    this.dimension = dimension;
    this.vectorsAt = this.inputRoom;
    this.sumsAt = Math.ceil((this.vectorsAt + items * dimension) / 8) * 8;
    ensureMemory(this.memory, this.sumsAt + items * 8);
    this.views = undefined;
  }

  private view(): NonNullable<WasmDigits['views']> {
    const buffer = this.memory.buffer;
    if (this.views?.buffer !== buffer) {
      this.views = {
        buffer,
        bytes: Buffer.from(buffer, 0, this.inputRoom),
        vectors: new Int8Array(buffer, this.vectorsAt, this.items * this.dimension),
        sums: new Int32Array(buffer, this.sumsAt, this.items * 2),
      };
    }
    return this.views;
  }
}

class JsDigits implements VectorDigits {
  readonly simd = false;
  private data = Buffer.alloc(0);
  private size = 0;
  private out = new Int8Array(0);
  private totals = new Int32Array(0);
  private dimension = 1;

  input(size: number): Buffer {
    if (size > this.data.length) this.data = Buffer.allocUnsafe(Math.ceil(size * 1.25));
    this.size = size;
    return this.data.subarray(0, size);
  }

  reserve(items: number, dimension: number): void {
    if (items * dimension > this.out.length) this.out = new Int8Array(Math.ceil(items * 1.25) * dimension);
    if (2 * items > this.totals.length) this.totals = new Int32Array(Math.ceil(items * 1.25) * 2);
    this.dimension = dimension;
  }

  bytes(): Buffer {
    return this.data.subarray(0, this.size);
  }

  vectors(): Int8Array {
    return this.out;
  }

  sums(): Int32Array {
    return this.totals;
  }

  read(p: number, end: number, item: number, count: number): number {
    if ((item + 1) * this.dimension > this.out.length || p >= end) return -1;
    return readDigits(this.data.subarray(0, end), p, this.out, item * this.dimension, count, this.totals, 2 * item);
  }
}

/**
 * The JavaScript reader. It has no branch that depends on the data: a value's sign and digit
 * count (1 to 3) are computed as 0/1 integers and folded into arithmetic, and every check ORs
 * into one flag tested once per vector (digit-count branches mispredict on about every other
 * value). A read past the end of `b` yields `undefined`, which also sets the flag.
 */
export function readDigits(b: Uint8Array, p: number, out: Int8Array, at: number, count: number, sums: Int32Array, sumAt: number): number {
  let bad = 0;
  let l1 = 0;
  let l2 = 0;
  for (let n = at, end = at + count; n < end; n++) {
    const neg = ((b[p]! ^ 0x2d) - 1) >>> 31; // 1 for '-'
    const q = p + neg;
    const c0 = b[q]!;
    const c1 = b[q + 1]!;
    const c2 = b[q + 2]!;
    const d0 = c0 - 0x30;
    const d1 = c1 - 0x30;
    const d2 = c2 - 0x30;
    // (c - 0x3a) & ~(c - 0x30) has its sign bit set exactly when c is a digit.
    const two = ((c1 - 0x3a) & ~d1) >>> 31;
    const three = two & (((c2 - 0x3a) & ~d2) >>> 31);
    const v2 = d0 + two * (d0 * 9 + d1);
    const v = v2 + three * (v2 * 9 + d2);
    const delimiter = q + 1 + two + three;
    const expected = n + 1 === end ? 0x5d : 0x2c;
    bad |= (b[delimiter]! ^ expected) | (((0x39 - c0) | d0) >>> 31) | ((127 - v) >>> 31);
    out[n] = (v ^ -neg) + neg;
    l1 += v;
    l2 += v * v;
    p = delimiter + 1;
  }
  sums[sumAt] = l1;
  sums[sumAt + 1] = l2;
  return bad === 0 ? p : -1;
}

/**
 * The WebAssembly reader, assembled here rather than shipped as an opaque binary so that it can
 * be read. Delimiters are found 16 bytes at a time (SIMD compare with ',' and ']', then a bit
 * mask); each value is then read from one 4-byte load between two delimiters, with no branch on
 * its length:
 *
 *   (func (export "digits") (param $p $end $count $out $sums i32) (result i32)
 *     start = p; block = p; m = delimiters(block)
 *     loop:
 *       while m == 0: block += 16; if block >= end: return -1; m = delimiters(block)
 *       at = block + ctz(m); m &= m - 1            ;; the next delimiter
 *       w = load32(start); neg = (w & 255) == '-'; w >>= 8 * neg
 *       digits = at - start - neg                   ;; must be 1..3
 *       mask = (1 << 8 * digits) - 1; w &= mask
 *       bad |= digits - 1 >u 2
 *       bad |= mask & 0x80808080 & (~((w | 0x80808080) - 0x30303030) | ((w & 0x7f7f7f7f) + 0x46464646) | w)
 *       x = (w - (0x30303030 & mask)) << 8 * (3 - digits)   ;; digits right-aligned in 3 bytes
 *       v = 100 * x[0] + 10 * x[1] + x[2]; bad |= v >u 127
 *       bad |= load8(at) != (n + 1 == count ? ']' : ',')
 *       store8(out + n, neg ? -v : v); l1 += v; l2 += v * v
 *       start = at + 1; n += 1
 *     while n < count
 *     store32(sums, l1); store32(sums + 4, l2)
 *     return bad ? -1 : start
 *
 * The byte checks are the classic "bytes in a range" tricks: OR-ing 0x80 into each byte before
 * subtracting keeps borrows inside their byte.
 */
export function assembleDigitsModule(): Uint8Array {
  const [P, END, COUNT, OUT, SUMS, START, BLOCK, M, MB, LOW, AT, W, NEG, DIGITS, MASK, X, V, N, BAD, L1, L2, BRACKETS_SEEN, LAST_BRACKET] = Array.from({ length: 23 }, (_, i) => i);
  const [COMMAS, BRACKETS, BYTES] = [23, 24, 25];
  const { get, set, tee, i32, simd } = op;
  const c = code;
  const byteOf = (local: number, k: number) => [...get(local), ...i32(8 * k), c.i32ShrU, ...i32(0xff), c.i32And];
  // mb = bitmask(bytes == ']'); m = mb | bitmask(bytes == ',') for the 16 bytes at `block`
  const delimiters = [
    ...get(BLOCK), ...op.v128Load(0), ...set(BYTES),
    ...get(BYTES), ...get(BRACKETS), ...simd(c.i8x16Eq), ...simd(c.i8x16Bitmask), ...tee(MB),
    ...get(BYTES), ...get(COMMAS), ...simd(c.i8x16Eq), ...simd(c.i8x16Bitmask), c.i32Or, ...set(M),
  ];
  const body = [
    ...i32(0x2c), ...simd(c.i8x16Splat), ...set(COMMAS),
    ...i32(0x5d), ...simd(c.i8x16Splat), ...set(BRACKETS),
    ...get(P), ...set(START),
    ...get(P), ...set(BLOCK),
    ...delimiters,
    ...c.loop,
    // Next 16 bytes until one holds a delimiter; never past `end`.
    ...c.block, ...c.loop,
    ...get(M), c.brIf, 1,
    ...get(BLOCK), ...i32(16), c.i32Add, ...tee(BLOCK), ...get(END), c.i32GeU, ...c.if, ...i32(-1), c.return, c.end,
    ...delimiters,
    c.br, 0,
    c.end, c.end,
    // The next delimiter; whether it is ']' is counted, and checked once at the end.
    ...get(M), ...i32(0), ...get(M), c.i32Sub, c.i32And, ...set(LOW),
    ...get(BLOCK), ...get(M), c.i32Ctz, c.i32Add, ...set(AT),
    ...get(M), ...get(LOW), c.i32Xor, ...set(M),
    ...get(MB), ...get(LOW), c.i32And, ...i32(0), c.i32Ne, ...tee(LAST_BRACKET), ...get(BRACKETS_SEEN), c.i32Add, ...set(BRACKETS_SEEN),
    ...get(START), ...op.i32Load, ...set(W),
    ...get(W), ...i32(0xff), c.i32And, ...i32(0x2d), c.i32Eq, ...set(NEG),
    ...get(W), ...get(NEG), ...i32(3), c.i32Shl, c.i32ShrU, ...set(W),
    ...get(AT), ...get(START), c.i32Sub, ...get(NEG), c.i32Sub, ...set(DIGITS),
    ...i32(1), ...get(DIGITS), ...i32(3), c.i32Shl, c.i32Shl, ...i32(1), c.i32Sub, ...set(MASK),
    ...get(W), ...get(MASK), c.i32And, ...set(W),
    ...get(BAD),
    ...get(DIGITS), ...i32(1), c.i32Sub, ...i32(2), c.i32GtU, c.i32Or,
    ...get(W), ...i32(0x80808080 | 0), c.i32Or, ...i32(0x30303030), c.i32Sub, ...i32(-1), c.i32Xor,
    ...get(W), ...i32(0x7f7f7f7f), c.i32And, ...i32(0x46464646), c.i32Add, c.i32Or,
    ...get(W), c.i32Or, ...get(MASK), c.i32And, ...i32(0x80808080 | 0), c.i32And, c.i32Or,
    ...set(BAD),
    ...get(W), ...i32(0x30303030), ...get(MASK), c.i32And, c.i32Sub,
    ...i32(3), ...get(DIGITS), c.i32Sub, ...i32(3), c.i32Shl, c.i32Shl, ...set(X),
    ...byteOf(X, 0), ...i32(100), c.i32Mul, ...byteOf(X, 1), ...i32(10), c.i32Mul, c.i32Add, ...byteOf(X, 2), c.i32Add, ...set(V),
    ...get(BAD), ...get(V), ...i32(127), c.i32GtU, c.i32Or, ...set(BAD),
    ...get(OUT), ...get(N), c.i32Add, ...i32(0), ...get(V), c.i32Sub, ...get(V), ...get(NEG), c.select, ...op.i32Store8,
    ...get(L1), ...get(V), c.i32Add, ...set(L1),
    ...get(L2), ...get(V), ...get(V), c.i32Mul, c.i32Add, ...set(L2),
    ...get(AT), ...i32(1), c.i32Add, ...set(START),
    ...get(N), ...i32(1), c.i32Add, ...tee(N), ...get(COUNT), c.i32LtU, c.brIf, 0,
    c.end,
    // Exactly one ']', closing the last value.
    ...get(BAD), ...get(BRACKETS_SEEN), ...i32(1), c.i32Ne, c.i32Or, ...get(LAST_BRACKET), c.i32Eqz, c.i32Or, ...set(BAD),
    ...get(SUMS), ...get(L1), ...op.i32Store(0),
    ...get(SUMS), ...get(L2), ...op.i32Store(4),
    ...get(START), ...i32(-1), ...get(BAD), c.i32Eqz, c.select,
    c.end,
  ];
  return oneFunctionModule('digits', 5, 1, [[18, I32], [3, V128]], body);
}
