/**
 * A minimal WebAssembly assembler: just enough instructions to write small SIMD kernels as
 * typed TypeScript instead of shipping an opaque binary or a build-time toolchain (wat2wasm is
 * not among our dependencies). Code is a flat list of bytes; the helpers below return byte lists
 * so a kernel reads like the text format: `[...get(x), ...i32c(4), I32.add, ...set(x)]`.
 *
 * One module = one imported memory ("env", "memory": the backend's heap, so kernels work in place)
 * and functions whose parameters are all i32 and that return nothing.
 */

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const I32 = { add: 0x6a, sub: 0x6b, mul: 0x6c, ltS: 0x48, geS: 0x4e, gtS: 0x4a, leS: 0x4c, eqz: 0x45 } as const;
export const CTRL = { end: 0x0b, select: 0x1b } as const;
export const T_I32 = 0x7f;
export const T_V128 = 0x7b;

export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const i32c = (n: number) => [0x41, ...sleb(n)];
/** `local = local + n` */
export const inc = (i: number, by: number[]) => [...get(i), ...by, I32.add, ...set(i)];
/** f32 load/store (align 4) at the address on the stack, plus a constant byte offset. */
export const f32load = (offset = 0) => [0x2a, 2, ...uleb(offset)];
export const f32store = (offset = 0) => [0x38, 2, ...uleb(offset)];

const simd = (op: number) => [0xfd, ...uleb(op)];
export const V128 = {
  load: (offset = 0) => [...simd(0x00), 2, ...uleb(offset)],
  store: (offset = 0) => [...simd(0x0b), 2, ...uleb(offset)],
  zero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4Lt: simd(0x43),
  f32x4Neg: simd(0xe1),
  f32x4ConvertI32x4S: simd(0xfa),
  i32x4TruncSatF32x4S: simd(0xf8),
  i32x4Splat: simd(0x11),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  i32x4Eq: simd(0x37),
  i32x4LtS: simd(0x39),
  i32x4GtS: simd(0x3b),
  /** i32x4 shift left by the i32 on top of the stack. */
  i32x4Shl: simd(0xab),
  /** i32x4 arithmetic shift right by the i32 on top of the stack. */
  i32x4ShrS: simd(0xac),
  and: simd(0x4e),
  or: simd(0x50),
  xor: simd(0x51),
  /** bitselect(a, b, mask): a where mask bits are 1, b elsewhere (a, b, mask pushed in that order). */
  bitselect: simd(0x52),
  /** A float32 constant in all 4 lanes (f32.const, splat). */
  f32x4Const: (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer), ...simd(0x13)],
  /** An i32 constant in all 4 lanes (i32.const, splat). */
  i32x4Const: (v: number) => [0x41, ...sleb(v | 0), ...simd(0x11)],
};

/** `block { loop { <cond-to-exit> br_if 1; body; br 0 } }`: while (!exit) body. */
export function whileNot(exitCond: number[], body: number[]): number[] {
  return [0x02, 0x40, 0x03, 0x40, ...exitCond, 0x0d, 1, ...body, 0x0c, 0, CTRL.end, CTRL.end];
}

/** `if (cond) { body }` */
export function when(cond: number[], body: number[]): number[] {
  return [...cond, 0x04, 0x40, ...body, CTRL.end];
}

export interface WasmFunction {
  name: string;
  params: number;
  /** Extra locals, by type, after the parameters. */
  locals: { i32: number; v128: number };
  body: number[];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const b = [...Buffer.from(s, "utf8")];
  return [...uleb(b.length), ...b];
}

/** The module's bytes: imports env.memory (at least `minPages` 64 KiB pages), exports each function. */
export function assemble(fns: readonly WasmFunction[], minPages = 1): Uint8Array {
  const types = fns.map((f) => [0x60, ...vec(new Array(f.params).fill([T_I32])), 0]);
  const imports = [[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(minPages)]];
  const funcs = fns.map((_, i) => uleb(i));
  // not "exports": a local of that name shadows CommonJS exports in tslab's compiled module
  const exported = fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  const codes = fns.map((f) => {
    const locals = vec([[...uleb(f.locals.i32), T_I32], [...uleb(f.locals.v128), T_V128]]);
    const body = [...locals, ...f.body, CTRL.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcs)),
    ...section(7, vec(exported)),
    ...section(10, vec(codes)),
  ]);
}
