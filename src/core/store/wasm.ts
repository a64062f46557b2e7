/**
 * The little of WebAssembly that Nearby's hand-assembled kernels need: the runtime API (the
 * project's lib settings carry no WebAssembly typings; they come with the DOM lib) and the
 * binary encoding of a one-function module.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

export const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export const PAGE = 65536;

export const I32 = 0x7f;
export const V128 = 0x7b;

/** A compiled module, or undefined where this runtime cannot validate it (no WebAssembly SIMD). */
export function compileModule(bytes: Uint8Array): object | undefined {
  try {
    return wasm?.validate(bytes) ? new wasm.Module(bytes) : undefined;
  } catch {
    return undefined;
  }
}

/** Grows `memory` so that it holds at least `bytes` bytes. */
export function ensureMemory(memory: WasmMemory, bytes: number): void {
  const pages = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
  if (pages > 0) memory.grow(pages);
}

/**
 * A module importing its memory as `m.m` and exporting one function `name` with i32 parameters
 * and results, whose locals and body are given as bytes.
 */
export function oneFunctionModule(name: string, params: number, results: number, locals: [count: number, type: number][], body: number[]): Uint8Array {
  const func = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...body];
  const text = (s: string) => vec([...s].map((c) => [c.charCodeAt(0)]));
  const i32s = (n: number) => vec(Array.from({ length: n }, () => [I32]));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...i32s(params), ...i32s(results)]])),
    ...section(2, vec([[...text('m'), ...text('m'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...text(name), 0x00, 0]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/** Instruction encoders shared by the kernels. */
export const op = {
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  tee: (i: number) => [0x22, i],
  i32: (n: number) => [0x41, ...sleb(n)],
  simd: (code: number) => [0xfd, ...uleb(code)],
  /** v128.load at the address on the stack plus `offset`. */
  v128Load: (offset = 0) => [0xfd, 0x00, 0, ...uleb(offset)],
  /** i32.load / i32.store, unaligned-tolerant (alignment hint 1 byte) or 4-byte aligned. */
  i32Load: [0x28, 0, 0],
  i32Store: (offset = 0) => [0x36, 2, ...uleb(offset)],
  i32Store8: [0x3a, 0, 0],
};

/** Opcodes, by the names the WebAssembly specification gives them. */
export const code = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  select: 0x1b,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Ctz: 0x68,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  // SIMD (after the 0xfd prefix)
  v128Const: 0x0c,
  i8x16Splat: 0x0f,
  i32x4ExtractLane: 0x1b,
  i8x16Eq: 0x23,
  i8x16Bitmask: 0x64,
  i16x8ExtendLowI8x16S: 0x87,
  i16x8ExtendHighI8x16S: 0x88,
  i32x4Add: 0xae,
  i32x4DotI16x8S: 0xba,
};

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}
