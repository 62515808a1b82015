/**
 * A restricted unpickler for the `data.pkl` of `torch.save` archives. It runs the pickle opcodes as data
 * transformations only: every GLOBAL must be on an allowlist (the one PyTorch's `weights_only=True` unpickler uses
 * for tensors, parameters and containers), REDUCE may only call the rebuild functions torch.save writes, and BUILD
 * may only set the attributes of an OrderedDict or a tensor. Nothing named by the file is ever executed; any other
 * callable is a TorchError naming it. Memo size, stack size and string lengths are bounded.
 */
import { constants as bufferConstants } from 'node:buffer';
import { TorchError } from '../errors';
import type { DType } from '../dtype';
import { halfToFloat } from './decode-half';

/** A global the pickle named (a class or function), kept as its dotted name: never resolved to code. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A dict or OrderedDict; keys are strings, numbers, bigints, booleans, null or tuples (arrays). */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** Attributes a BUILD set (OrderedDict `_metadata`): kept apart, never merged into the entries. */
  attrs?: PyDict;
  constructor(readonly kind: 'dict' | 'OrderedDict' = 'dict') {}
}

/** A set or frozenset (items kept in pickle order). */
export class PySet {
  constructor(
    readonly items: unknown[],
    readonly frozen: boolean,
  ) {}
}

/** A storage record the pickle refers to by persistent id: data in `<prefix>/data/<key>`. */
export interface StorageRef {
  key: string;
  dtype: DType;
  /** Where the tensor lived when saved (`cpu`, `cuda:0`, `mps`, ...); everything loads to the CPU. */
  location: string;
  /** Elements of `dtype` the record holds. */
  numel: number;
  /** Bytes the record must hold (numel times the storage type's element size). */
  nbytes: number;
}

/** Bytes per element of each dtype. */
export const ELEMENT_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** A tensor the pickle rebuilds: a strided view (in elements) of a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
    readonly requiresGrad: boolean,
    readonly isParameter: boolean,
  ) {}
}

/**
 * An object of a TorchScript class (`__torch__.Net`) that a TorchScript archive's data.pkl instantiates (NEWOBJ with
 * no arguments) and fills (BUILD with its attribute dict): kept as data, its class never run. Only read in 'script' mode.
 */
export class ScriptObject {
  /** What BUILD set: the attribute dict, or a `__getstate__` value; undefined before BUILD. */
  state?: unknown;
  constructor(readonly type: string) {}
}

/** A `torch.device` value, as its string (`cuda:0`). */
export class PyDevice {
  constructor(readonly name: string) {}
}

/** A NumPy dtype as checkpoints pickle it for numpy scalars (`numpy.dtype('f8')`, byte order set by BUILD). */
export class NpDType {
  order = '<';
  constructor(readonly code: string) {}
}
/** NumPy scalar codes a checkpoint may hold (np.float64 accuracies, np.int64 epochs, np.bool_ flags). */
const NP_SCALARS = new Set(['f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1']);

const tuples = new WeakSet<object>();
/** Whether a value the unpickler produced is a tuple (tuples and lists are both JS arrays). */
export function isTuple(v: unknown): v is unknown[] {
  return Array.isArray(v) && tuples.has(v);
}
function tuple(items: unknown[]): unknown[] {
  tuples.add(items);
  return items;
}

/** PyTorch's legacy typed storage classes, by the dtype their elements have. */
export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};
/** Storage classes PyTorch has whose dtypes torchgraft cannot hold (any other unknown `torch.*Storage` too). */
const UNSUPPORTED_STORAGES = new Set(['ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage', 'QUInt8Storage', 'QInt32Storage', 'QUInt4x2Storage', 'QUInt2x4Storage']);
/** PyTorch dtypes torchgraft cannot hold: allowed as names so that a file using them gets a dtype error, not a security one. */
const UNSUPPORTED_DTYPES = new Set([
  'complex32', 'complex64', 'complex128', 'cfloat', 'cdouble', 'chalf', 'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz',
  'float8_e5m2fnuz', 'float8_e8m0fnu', 'uint16', 'uint32', 'uint64', 'qint8', 'quint8', 'qint32', 'quint4x2', 'quint2x4',
]);
const SUPPORTED_LIST = 'float32/64/16, bfloat16, int8/16/32/64, uint8 and bool';
const TORCH_DTYPES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};
const REBUILDERS = new Set([
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
  'torch.nn.parameter.Parameter',
]);
const NP_SCALAR_FNS = ['numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar'];
const CALLABLES = new Set([...REBUILDERS, ...NP_SCALAR_FNS, 'numpy.dtype', 'collections.OrderedDict', 'torch.Size', 'torch.device', '_codecs.encode', 'builtins.set', 'builtins.frozenset', 'builtins.bytearray']);
const CONSTANTS = new Set(['torch.Tensor']);

const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg', exceptions: 'builtins' };

/** Whether `module.name` may appear in a GLOBAL: the allowlist, and nothing else. */
export function isAllowedGlobal(module: string, name: string): boolean {
  const q = `${module}.${name}`;
  if (CALLABLES.has(q) || CONSTANTS.has(q)) return true;
  // Storage class names are inert constants (never callable): an unknown one becomes a dtype error in storageFromPid.
  if (module === 'torch' && (/^[A-Z][A-Za-z0-9_]*Storage$/.test(name) || name in TORCH_DTYPES || UNSUPPORTED_DTYPES.has(name))) return true;
  return module === 'torch.storage' && name === 'UntypedStorage';
}

/** Bounds on what a pickle may make the unpickler hold. */
export interface PickleLimits {
  maxMemo: number;
  maxStack: number;
  maxMarks: number;
}
export const DEFAULT_LIMITS: PickleLimits = { maxMemo: 1_000_000, maxStack: 1_000_000, maxMarks: 10_000 };
/**
 * What a pickle may build: 'state' (torch.save: tensors and containers), or 'script' (a TorchScript archive's data.pkl:
 * also objects of `__torch__` classes, as ScriptObjects, and the type tags LibTorch's pickler writes).
 */
export type PickleMode = 'state' | 'script';
/** Inert helpers LibTorch's pickler wraps typed lists and dicts in; each returns its first argument's contents. */
const SCRIPT_CALLABLES = new Set(['torch.jit._pickle.restore_type_tag', 'torch.jit._pickle.build_intlist', 'torch.jit._pickle.build_doublelist', 'torch.jit._pickle.build_boollist', 'torch.jit._pickle.build_tensorlist']);
const isScriptClass = (module: string): boolean => module === '__torch__' || module.startsWith('__torch__.');
/** Bytes a LONG1/LONG4 integer may hold: 2^32768 is far beyond any checkpoint's numbers (Python allows any size). */
export const MAX_LONG_BYTES = 4096;
/** The longest string V8 can hold; a longer BINUNICODE8 is refused before decoding. */
const MAX_STRING = bufferConstants.MAX_STRING_LENGTH;

/**
 * Unpickles `data` under the allowlist.
 * @param data the pickle bytes.
 * @param source names the file (and entry) in every error message, quoted as it should appear.
 * @param persistentLoad resolves a persistent id (`('storage', type, key, location, numel)`) to a value.
 * @throws TorchError ERR_PICKLE_FORBIDDEN for a global, call or BUILD outside the allowlist (never executed),
 *   ERR_PICKLE_CORRUPT for a malformed pickle, ERR_PICKLE_LIMIT when a bound is exceeded.
 */
export function unpickle(
  data: Uint8Array,
  source: string,
  persistentLoad: (pid: unknown, at: number) => unknown,
  limits: PickleLimits = DEFAULT_LIMITS,
  mode: PickleMode = 'state',
): unknown {
  const { value, end } = unpickleFrom(data, 0, source, persistentLoad, limits, mode);
  if (end !== data.length) throw new TorchError(`io: ${source}: ${data.length - end} bytes after the pickle's STOP`, { code: 'ERR_PICKLE_CORRUPT' });
  return value;
}

/**
 * Unpickles one pickle starting at byte `start` of `data` (files that hold several pickles in a row), under the
 * same allowlist and bounds as `unpickle`.
 * @returns the value and the offset just past its STOP opcode.
 */
export function unpickleFrom(
  data: Uint8Array,
  start: number,
  source: string,
  persistentLoad: (pid: unknown, at: number) => unknown,
  limits: PickleLimits = DEFAULT_LIMITS,
  mode: PickleMode = 'state',
): { value: unknown; end: number } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = start;
  let opAt = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let held = 0; // items on the stack and every mark frame, together

  const corrupt = (problem: string): never => {
    throw new TorchError(`io: ${source}: malformed pickle at byte ${opAt}: ${problem}`, { code: 'ERR_PICKLE_CORRUPT' });
  };
  const forbidden = (problem: string): never => {
    throw new TorchError(`io: ${source}: ${problem} (loading never executes code from the file)`, { code: 'ERR_PICKLE_FORBIDDEN' });
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > buf.length) corrupt(`needs ${n} bytes, ${buf.length - pos} left`);
  };
  const u8 = (): number => (need(1), buf[pos++]);
  const u16 = (): number => (need(2), (pos += 2), buf.readUInt16LE(pos - 2));
  const u32 = (): number => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
  const i32 = (): number => (need(4), (pos += 4), buf.readInt32LE(pos - 4));
  const u64 = (): number => {
    need(8);
    const v = buf.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(buf.length)) corrupt(`declared length ${v} exceeds the pickle's ${buf.length} bytes`);
    return Number(v);
  };
  const bytes = (n: number): Buffer => {
    need(n);
    pos += n;
    return buf.subarray(pos - n, pos);
  };
  const line = (): string => {
    // Only the next 1025 bytes are searched, so a missing newline costs no scan of the rest of the pickle.
    const at = buf.subarray(pos, pos + 1025).indexOf(0x0a);
    if (at < 0 || at > 1024) corrupt('GLOBAL name line missing or too long');
    const end = pos + at;
    const s = buf.toString('utf8', pos, end);
    pos = end + 1;
    return s;
  };
  const push = (v: unknown): void => {
    if (++held > limits.maxStack) throw new TorchError(`io: ${source}: pickle stack exceeds ${limits.maxStack} items`, { code: 'ERR_PICKLE_LIMIT' });
    stack.push(v);
  };
  const pop = (): unknown => {
    if (!stack.length) corrupt('stack underflow');
    held--;
    return stack.pop();
  };
  const top = (): unknown => (stack.length ? stack[stack.length - 1] : corrupt('stack underflow'));
  const popMark = (): unknown[] => {
    if (!marks.length) corrupt('no MARK to pop to');
    const items = stack;
    stack = marks.pop() as unknown[];
    held -= items.length;
    return items;
  };
  const put = (i: number): void => {
    if (!memo.has(i) && memo.size >= limits.maxMemo) throw new TorchError(`io: ${source}: pickle memo exceeds ${limits.maxMemo} entries`, { code: 'ERR_PICKLE_LIMIT' });
    memo.set(i, top());
  };
  const get = (i: number): void => {
    if (!memo.has(i)) corrupt(`memo index ${i} was never stored`);
    push(memo.get(i));
  };
  const longFrom = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) throw new TorchError(`io: ${source}: pickle integer of ${n} bytes exceeds ${MAX_LONG_BYTES} bytes`, { code: 'ERR_PICKLE_LIMIT' });
    const b = bytes(n);
    if (b.length === 0) return 0;
    // One hex parse of the reversed bytes: linear, where shifting a BigInt byte by byte is quadratic.
    let v = BigInt('0x' + Buffer.from(b).reverse().toString('hex'));
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const text = (n: number, encoding: 'utf8' | 'latin1'): string => {
    if (n > MAX_STRING) throw new TorchError(`io: ${source}: pickle string of ${n} bytes exceeds the ${MAX_STRING} a string may hold`, { code: 'ERR_PICKLE_LIMIT' });
    return bytes(n).toString(encoding);
  };
  const setItems = (d: unknown, kv: unknown[]): void => {
    if (!(d instanceof PyDict)) corrupt('SETITEM(S) on something that is not a dict');
    if (kv.length % 2) corrupt('SETITEMS with an odd number of items');
    for (let k = 0; k < kv.length; k += 2) (d as PyDict).map.set(hashable(kv[k]), kv[k + 1]);
  };
  const hashable = (k: unknown): unknown => {
    if (k instanceof PyDict || (Array.isArray(k) && !isTuple(k))) corrupt('unhashable dict key');
    return k;
  };
  const global = (rawModule: string, name: string): PyGlobal => {
    // Protocol 2 names Python 3 modules by their Python 2 names (fix_imports), as PyTorch's unpickler maps them.
    const module = PY2_MODULES[rawModule] ?? rawModule;
    if (mode === 'script' && (isScriptClass(module) || SCRIPT_CALLABLES.has(`${module}.${name}`))) return new PyGlobal(module, name);
    if (!isAllowedGlobal(module, name)) {
      const hint = /^(torch\.nn\.modules|__main__|torchvision)/.test(module) ? '; the file holds a pickled Python object: save model.state_dict() instead' : '';
      forbidden(`pickle global '${module}.${name}' is not allowed${hint}`);
    }
    return new PyGlobal(module, name);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) forbidden(`REDUCE on a ${describe(fn)}, not an allowed global`);
    const g = fn as PyGlobal;
    if (!isTuple(args)) corrupt(`REDUCE of '${g.qualified}' with arguments that are not a tuple`);
    if (mode === 'script' && SCRIPT_CALLABLES.has(g.qualified)) {
      const a = args as unknown[];
      if (a.length < 1 || a.length > 2) corrupt(`'${g.qualified}' called with ${a.length} arguments`);
      return a[0];
    }
    if (!CALLABLES.has(g.qualified)) forbidden(`pickle calls '${g.qualified}', which is not allowed`);
    return callAllowed(g.qualified, args as unknown[], source, corrupt);
  };

  if (pos >= buf.length) corrupt('empty pickle');
  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) corrupt('unknown protocol');
        break;
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: {
        // STOP
        if (stack.length !== 1 || marks.length) corrupt(`STOP with ${stack.length} items on the stack`);
        return { value: stack[0], end: pos };
      }
      case 0x28: // MARK
        if (marks.length >= limits.maxMarks) throw new TorchError(`io: ${source}: pickle nests deeper than ${limits.maxMarks} MARKs`, { code: 'ERR_PICKLE_LIMIT' });
        marks.push(stack);
        stack = [];
        break;
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x7d: push(new PyDict()); break; // EMPTY_DICT
      case 0x8f: push(new PySet([], false)); break; // EMPTY_SET
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: {
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case 0x6c: push(popMark()); break; // LIST
      case 0x64: { // DICT
        const d = new PyDict();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) corrupt('APPEND to something that is not a list');
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) corrupt('APPENDS to something that is not a list');
        for (const v of items) (l as unknown[]).push(v);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet) || s.frozen) corrupt('ADDITEMS to something that is not a set');
        // One push per item: spreading a million arguments overflows the call stack.
        for (const v of items) (s as PySet).items.push(v);
        break;
      }
      case 0x91: push(new PySet(popMark(), true)); break; // FROZENSET
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(longFrom(u8())); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) corrupt('negative LONG4 length');
        push(longFrom(n));
        break;
      }
      case 0x47: need(8); push(buf.readDoubleBE(pos)); pos += 8; break; // BINFLOAT
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x58: push(text(u32(), 'utf8')); break; // BINUNICODE
      case 0x8c: push(text(u8(), 'utf8')); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64(), 'utf8')); break; // BINUNICODE8
      case 0x54: { // BINSTRING (Python 2 str)
        const n = i32();
        if (n < 0) corrupt('negative BINSTRING length');
        push(text(n, 'latin1'));
        break;
      }
      case 0x55: push(text(u8(), 'latin1')); break; // SHORT_BINSTRING
      case 0x42: push(new Uint8Array(bytes(u32()))); break; // BINBYTES
      case 0x43: push(new Uint8Array(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: push(new Uint8Array(bytes(u64()))); break; // BINBYTES8
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x63: { // GLOBAL
        const module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') corrupt('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        push(call(pop(), args));
        break;
      }
      case 0x81: case 0x92: { // NEWOBJ, NEWOBJ_EX: instantiating a class is never allowed (but see 'script' mode)
        if (op === 0x92) pop();
        const newArgs = pop();
        const cls = pop();
        if (mode === 'script' && op === 0x81 && cls instanceof PyGlobal && isScriptClass(cls.module)) {
          if (!isTuple(newArgs) || (newArgs as unknown[]).length) corrupt(`NEWOBJ of '${cls.qualified}' with arguments`);
          push(new ScriptObject(cls.qualified));
          break;
        }
        forbidden(`pickle instantiates ${cls instanceof PyGlobal ? `'${cls.qualified}'` : 'an object'} (NEWOBJ), which is not allowed`);
        break;
      }
      case 0x69: case 0x6f: // INST, OBJ
        forbidden('pickle instantiates an object (INST/OBJ), which is not allowed');
        break;
      case 0x62: { // BUILD
        const state = pop();
        build(top(), state, corrupt, forbidden);
        break;
      }
      case 0x51: push(persistentLoad(pop(), opAt)); break; // BINPERSID
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      default:
        corrupt(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

/** What a value is, for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return `global '${v.qualified}'`;
  if (v instanceof TensorRef) return 'tensor';
  if (v instanceof PyDict) return v.kind;
  if (v instanceof PySet) return 'set';
  if (isTuple(v)) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof NpDType) return 'numpy dtype';
  if (v instanceof ScriptObject) return `TorchScript object '${v.type}'`;
  return typeof v;
}

function build(inst: unknown, state: unknown, corrupt: (p: string) => never, forbidden: (p: string) => never): void {
  if (inst instanceof ScriptObject) {
    if (inst.state !== undefined) corrupt(`a second BUILD of the TorchScript object '${inst.type}'`);
    inst.state = state;
    return;
  }
  // OrderedDict state is its __dict__ (`_metadata` of state dicts): kept aside, never part of the entries.
  if (inst instanceof PyDict && inst.kind === 'OrderedDict') {
    if (!(state instanceof PyDict)) corrupt(`BUILD of an OrderedDict with a ${describe(state)} state`);
    inst.attrs = state as PyDict;
    return;
  }
  if (inst instanceof TensorRef) {
    const empty = state === null || (state instanceof PyDict && state.map.size === 0) || (isTuple(state) && (state as unknown[]).length === 0);
    if (!empty) forbidden('BUILD sets Python attributes on a tensor, which is not supported');
    return;
  }
  // A numpy dtype's state is (version, byte order, ...): only the byte order is kept.
  if (inst instanceof NpDType) {
    const order = isTuple(state) ? (state as unknown[])[1] : undefined;
    if (order !== '<' && order !== '>' && order !== '|' && order !== '=') corrupt('BUILD of a numpy dtype without a byte order');
    inst.order = order as string;
    return;
  }
  forbidden(`BUILD on a ${describe(inst)} is not allowed (only OrderedDict, tensors and numpy dtypes)`);
}

function int(v: unknown, what: string, corrupt: (p: string) => never): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) corrupt(`${what} must be a non-negative integer, got ${typeof v === 'bigint' ? String(v) : describe(v)}`);
  return v as number;
}
function intList(v: unknown, what: string, corrupt: (p: string) => never): number[] {
  if (!Array.isArray(v)) corrupt(`${what} must be a tuple of integers, got ${describe(v)}`);
  if ((v as unknown[]).length > 64) corrupt(`${what} has ${(v as unknown[]).length} dimensions`);
  return (v as unknown[]).map((x) => int(x, what, corrupt));
}
function storageOf(v: unknown, what: string, corrupt: (p: string) => never): StorageRef {
  if (!v || typeof v !== 'object' || !('key' in v) || !('numel' in v)) corrupt(`${what} must be a storage (persistent id), got ${describe(v)}`);
  return v as StorageRef;
}
function args(a: unknown[], min: number, max: number, fn: string, corrupt: (p: string) => never): void {
  if (a.length < min || a.length > max) corrupt(`'${fn}' called with ${a.length} arguments`);
}

/** Runs one allowlisted callable on plain data: rebuilds tensors and containers, nothing else. */
function callAllowed(q: string, a: unknown[], source: string, corrupt: (p: string) => never): unknown {
  switch (q) {
    case 'collections.OrderedDict': {
      args(a, 0, 1, q, corrupt);
      const d = new PyDict('OrderedDict');
      if (a.length === 1 && a[0] !== null) {
        if (!Array.isArray(a[0])) corrupt(`'${q}' called with a ${describe(a[0])}`);
        for (const kv of a[0] as unknown[]) {
          if (!Array.isArray(kv) || kv.length !== 2) corrupt(`'${q}' needs (key, value) pairs`);
          d.map.set((kv as unknown[])[0], (kv as unknown[])[1]);
        }
      }
      return d;
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor_v3': {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, dtype]][, metadata])
      args(a, 4, 8, q, corrupt);
      let storage = storageOf(a[0], 'the tensor storage', corrupt);
      if (q.endsWith('_v3')) {
        const dt = a[6];
        if (dt instanceof PyGlobal && dt.module === 'torch' && UNSUPPORTED_DTYPES.has(dt.name))
          throw new TorchError(`io: ${source}: dtype torch.${dt.name} is not supported (torchgraft holds ${SUPPORTED_LIST})`, { code: 'ERR_PYTORCH_DTYPE' });
        if (!(dt instanceof PyGlobal) || dt.module !== 'torch' || !(dt.name in TORCH_DTYPES)) corrupt(`'${q}' with a dtype that is ${describe(dt)}`);
        const dtype = TORCH_DTYPES[(dt as PyGlobal).name];
        storage = { ...storage, dtype, numel: Math.floor(storage.nbytes / ELEMENT_SIZE[dtype]) };
      }
      const shape = intList(a[2], 'the tensor size', corrupt);
      const strides = intList(a[3], 'the tensor stride', corrupt);
      if (shape.length !== strides.length) corrupt(`tensor size has ${shape.length} dimensions, its stride ${strides.length}`);
      return new TensorRef(storage, int(a[1], 'the storage offset', corrupt), shape, strides, a[4] === true, false);
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
    case 'torch.nn.parameter.Parameter': {
      args(a, 1, 4, q, corrupt);
      const t = a[0];
      if (!(t instanceof TensorRef)) corrupt(`'${q}' of a ${describe(t)}, not a tensor`);
      const r = t as TensorRef;
      return new TensorRef(r.storage, r.offset, r.shape, r.strides, a.length > 1 ? a[1] === true : true, true);
    }
    case 'torch._tensor._rebuild_from_type_v2': {
      // (func, new_type, args, state): only a rebuild function, producing a Tensor or Parameter without Python state.
      args(a, 4, 4, q, corrupt);
      const [fn, type, inner] = a;
      if (!(fn instanceof PyGlobal) || !REBUILDERS.has(fn.qualified) || fn.qualified === q) corrupt(`'${q}' with a ${describe(fn)}`);
      if (!(type instanceof PyGlobal) || !['torch.Tensor', 'torch.nn.parameter.Parameter'].includes(type.qualified))
        corrupt(`'${q}' to a ${describe(type)}: only torch.Tensor and Parameter are supported`);
      if (!isTuple(inner)) corrupt(`'${q}' with arguments that are not a tuple`);
      return callAllowed((fn as PyGlobal).qualified, inner as unknown[], source, corrupt);
    }
    case 'torch.Size':
      args(a, 0, 1, q, corrupt);
      return tuple(a.length ? intList(a[0], 'torch.Size', corrupt) : []);
    case 'torch.device': {
      args(a, 1, 2, q, corrupt);
      if (typeof a[0] !== 'string') corrupt(`'${q}' needs a string`);
      return new PyDevice(a.length === 2 && a[1] !== null ? `${a[0]}:${int(a[1], 'device index', corrupt)}` : (a[0] as string));
    }
    case '_codecs.encode': {
      // Protocol 2 writes bytes as _codecs.encode(text, 'latin1').
      args(a, 1, 2, q, corrupt);
      const enc = a.length > 1 ? a[1] : 'utf-8';
      if (typeof a[0] !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) corrupt(`'${q}' only decodes a string as latin1`);
      return new Uint8Array(Buffer.from(a[0] as string, 'latin1'));
    }
    case 'numpy.dtype': {
      args(a, 1, 3, q, corrupt);
      const code = typeof a[0] === 'string' ? a[0].replace(/^[<>|=]/, '') : '';
      if (!NP_SCALARS.has(code)) corrupt(`'${q}' of ${typeof a[0] === 'string' ? `'${a[0]}'` : describe(a[0])}: only numeric and bool scalars are supported`);
      return new NpDType(code);
    }
    case 'numpy.core.multiarray.scalar':
    case 'numpy._core.multiarray.scalar': {
      // (dtype, raw bytes): a numpy scalar becomes a plain number, bigint or boolean.
      args(a, 2, 2, q, corrupt);
      const [dt, raw] = a;
      if (!(dt instanceof NpDType) || !(raw instanceof Uint8Array)) corrupt(`'${q}' needs a numpy dtype and bytes`);
      const d = dt as NpDType;
      const size = Number(d.code.slice(1));
      if ((raw as Uint8Array).length !== size) corrupt(`'${q}' of '${d.code}' with ${(raw as Uint8Array).length} bytes`);
      const b = Buffer.from(raw as Uint8Array);
      if (d.order === '>' && size > 1) b.reverse();
      const kind = d.code[0];
      if (kind === 'b') return b[0] !== 0;
      if (kind === 'f') return size === 2 ? halfToFloat(b.readUInt16LE(0)) : size === 4 ? b.readFloatLE(0) : b.readDoubleLE(0);
      if (size === 8) {
        const v = kind === 'i' ? b.readBigInt64LE(0) : b.readBigUInt64LE(0);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      return kind === 'i' ? b.readIntLE(0, size) : b.readUIntLE(0, size);
    }
    case 'builtins.set':
    case 'builtins.frozenset':
      args(a, 0, 1, q, corrupt);
      if (a.length && !Array.isArray(a[0])) corrupt(`'${q}' of a ${describe(a[0])}`);
      return new PySet(a.length ? [...(a[0] as unknown[])] : [], q.endsWith('frozenset'));
    case 'builtins.bytearray':
      args(a, 0, 2, q, corrupt);
      if (a.length === 0) return new Uint8Array(0);
      if (a[0] instanceof Uint8Array) return new Uint8Array(a[0]);
      if (typeof a[0] === 'string' && a[1] === 'latin-1') return new Uint8Array(Buffer.from(a[0], 'latin1'));
      return corrupt(`'${q}' of a ${describe(a[0])}`);
    default:
      return corrupt(`no handler for '${q}'`);
  }
}

/** Resolves a torch.save persistent id to a StorageRef, checking its shape. */
export function storageFromPid(pid: unknown, source: string, at: number): StorageRef {
  const bad = (p: string): never => {
    throw new TorchError(`io: ${source}: malformed pickle at byte ${at}: ${p}`, { code: 'ERR_PICKLE_CORRUPT' });
  };
  if (!isTuple(pid) || (pid as unknown[]).length < 5 || (pid as unknown[])[0] !== 'storage') bad(`persistent id ${describe(pid)} is not ('storage', type, key, location, numel)`);
  const [, type, key, location, numel] = pid as unknown[];
  if (!(type instanceof PyGlobal)) bad('persistent id without a storage type');
  const t = type as PyGlobal;
  if (UNSUPPORTED_STORAGES.has(t.name) || (t.module === 'torch' && !(t.name in STORAGE_DTYPES) && t.name.endsWith('Storage'))) throw new TorchError(`io: ${source}: storage type torch.${t.name} is not supported (torchgraft holds ${SUPPORTED_LIST})`, { code: 'ERR_PYTORCH_DTYPE' });
  const dtype = STORAGE_DTYPES[t.name];
  if (!dtype || (t.module !== 'torch' && t.module !== 'torch.storage')) bad(`'${t.qualified}' is not a storage type`);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(key)) bad('storage key is not a short name');
  const loc = location instanceof PyDevice ? location.name : location;
  if (typeof loc !== 'string') bad('storage location is not a string');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) bad('storage size is not a non-negative integer');
  return { key: key as string, dtype, location: loc as string, numel: numel as number, nbytes: (numel as number) * ELEMENT_SIZE[dtype] };
}

