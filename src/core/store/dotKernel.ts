import { code, compileModule, ensureMemory, I32, oneFunctionModule, op, V128, wasm, type WasmMemory } from './wasm';

/**
 * Integer dot products of one query against every row of an int8 matrix, the inner loop of search.
 *
 * Rows live in WebAssembly memory and the loop is a small hand-assembled WebAssembly SIMD function
 * (16 int8 dimensions per step, widened to int16 and multiplied with `i32x4.dot_i16x8_s`). Plain
 * JavaScript cannot use SIMD and scalar float loops over 100k x 384 took ~40 ms here; this reads a
 * quarter of the bytes of a float32 table and runs several times faster. The products are exact
 * integers, so the JavaScript fallback (for a runtime without WebAssembly SIMD) gives the same
 * numbers.
 */
export interface DotKernel {
  /** Row length in bytes: the dimension rounded up to a multiple of 16, zero padded. */
  readonly stride: number;
  readonly capacity: number;
  /** Grows the matrix (keeping its rows) so that it holds at least `rows` rows. */
  reserve(rows: number): void;
  /** The matrix, `capacity * stride` bytes. A fresh view after every `reserve`. */
  matrix(): Int8Array;
  /** Query slots, `stride` int16 values, to fill before `run`. */
  query(): Int16Array;
  /** Computes the dot product of the query with rows `0..rows-1`; the returned view is valid until the next call. */
  run(rows: number): Int32Array;
  readonly simd: boolean;
}

export function createDotKernel(dimension: number): DotKernel {
  const stride = Math.ceil(dimension / 16) * 16;
  try {
    return new WasmDotKernel(stride);
  } catch {
    return new JsDotKernel(stride);
  }
}

let compiled: object | undefined | null;

function wasmModule(): object | undefined {
  if (compiled === undefined) compiled = compileModule(assembleDotModule()) ?? null;
  return compiled ?? undefined;
}

class WasmDotKernel implements DotKernel {
  readonly simd = true;
  private readonly memory: WasmMemory;
  private readonly dots: (q: number, matrix: number, rows: number, stride: number, out: number) => void;
  private cap = 0;
  // Layout: [query int16 x stride | matrix cap x stride | scores int32 x cap]. The matrix never
  // moves when it grows; only the scratch scores after it do.
  private readonly matrixOffset: number;

  constructor(readonly stride: number) {
    const module = wasmModule();
    if (!module || !wasm) throw new Error('WebAssembly SIMD is not available');
    this.matrixOffset = Math.ceil((stride * 2) / 64) * 64;
    this.memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(module, { m: { m: this.memory } });
    this.dots = instance.exports['dots'] as WasmDotKernel['dots'];
  }

  get capacity(): number {
    return this.cap;
  }

  reserve(rows: number): void {
    if (rows <= this.cap) return;
    const cap = Math.max(rows, Math.ceil(this.cap * 1.5), 1024);
    ensureMemory(this.memory, this.matrixOffset + cap * this.stride + cap * 4);
    this.cap = cap;
  }

  matrix(): Int8Array {
    return new Int8Array(this.memory.buffer, this.matrixOffset, this.cap * this.stride);
  }

  query(): Int16Array {
    return new Int16Array(this.memory.buffer, 0, this.stride);
  }

  run(rows: number): Int32Array {
    const out = this.matrixOffset + this.cap * this.stride;
    this.dots(0, this.matrixOffset, rows, this.stride, out);
    return new Int32Array(this.memory.buffer, out, rows);
  }
}

class JsDotKernel implements DotKernel {
  readonly simd = false;
  private data = new Int8Array(0);
  private readonly q: Int16Array;
  private out = new Int32Array(0);

  constructor(readonly stride: number) {
    this.q = new Int16Array(stride);
  }

  get capacity(): number {
    return this.out.length;
  }

  reserve(rows: number): void {
    if (rows <= this.out.length) return;
    const cap = Math.max(rows, Math.ceil(this.out.length * 1.5), 1024);
    const data = new Int8Array(cap * this.stride);
    data.set(this.data);
    this.data = data;
    this.out = new Int32Array(cap);
  }

  matrix(): Int8Array {
    return this.data;
  }

  query(): Int16Array {
    return this.q;
  }

  run(rows: number): Int32Array {
    const { data, q, stride, out } = this;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const off = r * stride;
      for (let j = 0; j < stride; j++) s += q[j]! * data[off + j]!;
      out[r] = s;
    }
    return out.subarray(0, rows);
  }
}

/**
 * The module, assembled here rather than shipped as an opaque binary so that it can be read:
 *
 *   (func (export "dots") (param $q $m $rows $stride $out i32)
 *     for r in 0..rows:
 *       acc = 0 (i32x4); p = m + r*stride; end = p + stride; qp = q
 *       do:
 *         v = load128(p)                                    ;; 16 x int8
 *         acc += dot_i16x8(extend_low(v),  load128(qp))     ;; 8 x int16 query values
 *         acc += dot_i16x8(extend_high(v), load128(qp+16))
 *         p += 16; qp += 32
 *       while p < end
 *       store32(out + 4r, acc[0] + acc[1] + acc[2] + acc[3]))
 *
 * Memory is imported as `m.m`. Overflow is ruled out by the caller's choice of query scale.
 */
export function assembleDotModule(): Uint8Array {
  const [Q, M, ROWS, STRIDE, OUT, R, END, P, QP, ACC, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const { get, set, i32, simd, v128Load } = op;
  const c = code;
  const lane = (i: number) => [...get(ACC), ...simd(c.i32x4ExtractLane), i];

  const body = [
    ...c.block,
    ...c.loop, // over rows
    ...get(R), ...get(ROWS), c.i32GeU, c.brIf, 1, // out of the block when r >= rows
    ...simd(c.v128Const), ...new Array<number>(16).fill(0), ...set(ACC),
    ...get(M), ...get(R), ...get(STRIDE), c.i32Mul, c.i32Add, ...set(P),
    ...get(P), ...get(STRIDE), c.i32Add, ...set(END),
    ...get(Q), ...set(QP),
    ...c.loop, // over 16-byte steps
    ...get(P), ...v128Load(0), ...set(V),
    ...get(ACC),
    ...get(V), ...simd(c.i16x8ExtendLowI8x16S), ...get(QP), ...v128Load(0), ...simd(c.i32x4DotI16x8S), ...simd(c.i32x4Add),
    ...get(V), ...simd(c.i16x8ExtendHighI8x16S), ...get(QP), ...v128Load(16), ...simd(c.i32x4DotI16x8S), ...simd(c.i32x4Add),
    ...set(ACC),
    ...get(P), ...i32(16), c.i32Add, ...set(P),
    ...get(QP), ...i32(32), c.i32Add, ...set(QP),
    ...get(P), ...get(END), c.i32LtU, c.brIf, 0, // back while p < end
    c.end,
    ...get(OUT), ...get(R), ...i32(2), c.i32Shl, c.i32Add,
    ...lane(0), ...lane(1), c.i32Add, ...lane(2), c.i32Add, ...lane(3), c.i32Add,
    ...op.i32Store(0),
    ...get(R), ...i32(1), c.i32Add, ...set(R),
    c.br, 0, // next row
    c.end, // loop
    c.end, // block
    c.end, // function
  ];
  return oneFunctionModule('dots', 5, 0, [[4, I32], [2, V128]], body);
}
