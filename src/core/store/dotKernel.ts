import { compileModule, ensureMemory, I32, oneFunctionModule, op, uleb, V128, wasm, type WasmMemory } from './wasm';

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
  const { get, set, i32: i32const, simd } = op;
  const v128load = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
  const I32_ADD = 0x6a;
  const I32_MUL = 0x6c;
  const I32_SHL = 0x74;
  const I32_LT_U = 0x49;
  const I32_GE_U = 0x4f;
  const EXTEND_LOW_S = 0x87;
  const EXTEND_HIGH_S = 0x88;
  const DOT_I16X8_S = 0xba;
  const I32X4_ADD = 0xae;
  const EXTRACT_LANE = 0x1b;
  const lane = (i: number) => [...get(ACC), ...simd(EXTRACT_LANE), i];

  const body = [
    0x02, 0x40, // block
    0x03, 0x40, // loop over rows
    ...get(R), ...get(ROWS), I32_GE_U, 0x0d, 1, // br_if out of the block when r >= rows
    ...simd(0x0c), ...new Array<number>(16).fill(0), ...set(ACC),
    ...get(M), ...get(R), ...get(STRIDE), I32_MUL, I32_ADD, ...set(P),
    ...get(P), ...get(STRIDE), I32_ADD, ...set(END),
    ...get(Q), ...set(QP),
    0x03, 0x40, // loop over 16-byte steps
    ...get(P), ...v128load(0), ...set(V),
    ...get(ACC),
    ...get(V), ...simd(EXTEND_LOW_S), ...get(QP), ...v128load(0), ...simd(DOT_I16X8_S), ...simd(I32X4_ADD),
    ...get(V), ...simd(EXTEND_HIGH_S), ...get(QP), ...v128load(16), ...simd(DOT_I16X8_S), ...simd(I32X4_ADD),
    ...set(ACC),
    ...get(P), ...i32const(16), I32_ADD, ...set(P),
    ...get(QP), ...i32const(32), I32_ADD, ...set(QP),
    ...get(P), ...get(END), I32_LT_U, 0x0d, 0, // br_if back while p < end
    0x0b,
    ...get(OUT), ...get(R), ...i32const(2), I32_SHL, I32_ADD,
    ...lane(0), ...lane(1), I32_ADD, ...lane(2), I32_ADD, ...lane(3), I32_ADD,
    0x36, 2, 0, // i32.store align=4
    ...get(R), ...i32const(1), I32_ADD, ...set(R),
    0x0c, 0, // next row
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  return oneFunctionModule('dots', 5, 0, [[4, I32], [2, V128]], body);
}
