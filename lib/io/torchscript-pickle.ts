/**
 * Runs a TorchScript archive's pickle (data.pkl, constants.pkl, the .debug_pkl records) through a model of LibTorch's
 * unpickler before LibTorch sees it: every opcode's effect on the stack and its MARK frames, the arguments of each
 * persistent id (storage records) and of each tensor rebuild (offset, sizes and strides inside the storage). LibTorch
 * trusts all of these, so a pop from an empty stack or a view past its storage would crash the process or read memory
 * it does not own. Nothing here runs code: globals are names.
 */

/** A global the pickle named. */
class Global {
  constructor(readonly qualified: string) {}
}
/** A storage a persistent id declared: its element size and element count, already checked against its record. */
class Storage {
  constructor(
    readonly key: string,
    readonly elementSize: number,
    readonly numel: number,
  ) {}
}
/** A tuple (immutable, so REDUCE arguments can be read from it). */
class Tuple {
  constructor(readonly items: unknown[]) {}
}
/** A list, dict, or object built by NEWOBJ/REDUCE: its contents never matter to the checks. */
class Opaque {
  constructor(readonly kind: 'list' | 'dict' | 'object' | 'set') {}
}

/** Element sizes of the storage classes LibTorch reads (`torch.FloatStorage`, ...). */
const STORAGE_SIZES: Record<string, number> = {
  FloatStorage: 4, DoubleStorage: 8, HalfStorage: 2, BFloat16Storage: 2, LongStorage: 8, IntStorage: 4, ShortStorage: 2,
  CharStorage: 1, ByteStorage: 1, BoolStorage: 1, ComplexFloatStorage: 8, ComplexDoubleStorage: 16, QInt8Storage: 1,
  QUInt8Storage: 1, QInt32Storage: 4, QUInt4x2Storage: 1, QUInt2x4Storage: 1,
};
/** The rebuild functions whose arguments are (storage, storage_offset, size, stride, ...). */
const TENSOR_REBUILDS = new Set(['torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_qtensor']);
const MAX_STACK = 1_000_000;
const MAX_MARKS = 10_000;
const MAX_DIMS = 64;

/** Looks up a storage record: its size in bytes, or undefined when the archive lacks it. */
export type RecordSize = (key: string) => number | undefined;

class Problem extends Error {}

/**
 * The first problem that would make LibTorch's unpickler misbehave on this pickle, or undefined.
 * @param b the pickle bytes (lengths and memo slots already checked by pickleProblem).
 * @param recordSize resolves a persistent id's key to its record's size; undefined skips record checks (pickles
 *   LibTorch never reads storages for), the tensor geometry is still checked against the declared element count.
 */
export function scriptPickleProblem(b: Buffer, recordSize?: RecordSize): string | undefined {
  try {
    run(b, recordSize);
    return undefined;
  } catch (e) {
    if (e instanceof Problem) return e.message;
    throw e;
  }
}

function run(b: Buffer, recordSize?: RecordSize): void {
  let pos = 0;
  let at = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const storages = new Map<string, Storage>();
  let held = 0;
  const bad = (p: string): never => {
    throw new Problem(`opcode 0x${(b[at] ?? 0).toString(16).padStart(2, '0')} at byte ${at}: ${p}`);
  };
  const need = (n: number): void => {
    if (pos + n > b.length) bad('cut short');
  };
  const push = (v: unknown): void => {
    if (++held > MAX_STACK) bad(`the stack exceeds ${MAX_STACK} items`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (!stack.length) bad(marks.length ? 'pops across a MARK' : 'pops from an empty stack');
    held--;
    return stack.pop();
  };
  const top = (): unknown => (stack.length ? stack[stack.length - 1] : bad(marks.length ? 'reads across a MARK' : 'reads an empty stack'));
  const popMark = (): unknown[] => {
    if (!marks.length) bad('no MARK to pop to');
    const items = stack;
    stack = marks.pop() as unknown[];
    held -= items.length;
    return items;
  };
  const len = (n: 1 | 4 | 8): number => {
    need(n);
    const v = n === 1 ? b[pos] : n === 4 ? b.readUInt32LE(pos) : Number(b.readBigUInt64LE(pos));
    pos += n;
    need(v);
    return v;
  };
  const str = (n: number, enc: 'utf8' | 'latin1'): string => {
    const s = b.toString(enc, pos, pos + n);
    pos += n;
    return s;
  };
  const line = (): string => {
    const i = b.subarray(pos, pos + 1025).indexOf(0x0a);
    if (i < 0) bad('a name line without its newline');
    const s = str(i, 'latin1');
    pos++; // the newline
    return s;
  };
  const int = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${what} is ${typeof v === 'bigint' ? String(v) : typeof v === 'number' ? v : 'not an integer'}, not a non-negative integer`);
    return v as number;
  };
  const ints = (v: unknown, what: string): number[] => {
    if (!(v instanceof Tuple)) bad(`${what} is not a tuple`);
    const items = (v as Tuple).items;
    if (items.length > MAX_DIMS) bad(`${what} has ${items.length} dimensions`);
    return items.map((x) => int(x, what));
  };

  const container = (v: unknown, what: string): void => {
    if (!(v instanceof Opaque)) bad(`${what} on something that is not a container`);
  };
  const persistent = (pid: unknown): Storage => {
    if (!(pid instanceof Tuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') return bad("a persistent id that is not ('storage', type, key, location, numel)");
    const [, type, key, location, numel] = pid.items;
    const cls = type instanceof Global && type.qualified.startsWith('torch.') ? type.qualified.slice(6) : '';
    const esize = STORAGE_SIZES[cls];
    if (!esize) bad(`a storage of type ${type instanceof Global ? type.qualified : 'that is not a storage class'}`);
    if (typeof key !== 'string' || typeof location !== 'string') bad('a storage key or location that is not a string');
    const n = int(numel, 'a storage element count');
    const k = key as string;
    const known = storages.get(k);
    if (known) {
      if (known.elementSize !== esize || known.numel !== n) bad(`storage '${k}' declared twice with different types or sizes`);
      return known;
    }
    if (recordSize && n > 0) {
      const size = recordSize(k);
      if (size === undefined) bad(`storage '${k}' has no record`);
      if ((size as number) < n * esize) bad(`storage '${k}' declares ${n} elements of ${esize} bytes, its record holds ${size} bytes`);
    }
    const s = new Storage(k, esize, n);
    storages.set(k, s);
    return s;
  };

  const rebuildTensor = (fn: string, args: unknown[]): Opaque => {
    if (args.length < 4) bad(`'${fn}' with ${args.length} arguments`);
    const s = args[0];
    if (!(s instanceof Storage)) return bad(`'${fn}' of something that is not a storage`);
    const offset = int(args[1], 'a storage offset');
    const size = ints(args[2], 'a tensor size');
    const stride = ints(args[3], 'a tensor stride');
    if (size.length !== stride.length) bad(`a tensor of ${size.length} sizes and ${stride.length} strides`);
    // In BigInt: offsets and strides near 2^63 must not wrap around.
    let last = BigInt(offset);
    let empty = false;
    for (let i = 0; i < size.length; i++) {
      if (size[i] === 0) empty = true;
      else last += BigInt(size[i] - 1) * BigInt(stride[i]);
    }
    const limit = BigInt(s.numel);
    if (empty ? BigInt(offset) > limit : last >= limit)
      bad(`tensor (offset ${offset}, size [${size}], stride [${stride}]) reaches past its storage '${s.key}' of ${s.numel} elements`);
    return new Opaque('object');
  };

  const reduce = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof Global)) return bad('REDUCE of something that is not a global');
    if (!(args instanceof Tuple)) return bad(`REDUCE of '${fn.qualified}' with arguments that are not a tuple`);
    if (TENSOR_REBUILDS.has(fn.qualified)) return rebuildTensor(fn.qualified, args.items);
    // What LibTorch's other functions return, as far as the later opcodes care (lists and dicts get items).
    if (fn.qualified === 'collections.OrderedDict') return new Opaque('dict');
    if (fn.qualified === 'torch.jit._pickle.restore_type_tag' && args.items.length) return args.items[0];
    if (fn.qualified.startsWith('torch.jit._pickle.build_')) return new Opaque('list');
    return new Opaque('object');
  };

  if (b.length === 0) bad('an empty pickle');
  for (;;) {
    at = pos;
    need(1);
    const op = b[pos++];
    switch (op) {
      case 0x80: need(1); pos++; break; // PROTO
      case 0x95: need(8); pos += 8; break; // FRAME (lengths checked by pickleProblem)
      case 0x2e: // STOP
        if (marks.length || stack.length !== 1) bad(`STOP with ${stack.length} items and ${marks.length} open MARKs`);
        return;
      case 0x28: // MARK
        if (marks.length >= MAX_MARKS) bad(`more than ${MAX_MARKS} open MARKs`);
        marks.push(stack);
        stack = [];
        break;
      case 0x29: push(new Tuple([])); break; // EMPTY_TUPLE
      case 0x5d: push(new Opaque('list')); break; // EMPTY_LIST
      case 0x7d: push(new Opaque('dict')); break; // EMPTY_DICT
      case 0x8f: push(new Opaque('set')); break; // EMPTY_SET
      case 0x74: push(new Tuple(popMark())); break; // TUPLE
      case 0x85: push(new Tuple([pop()])); break; // TUPLE1
      case 0x86: { const y = pop(); push(new Tuple([pop(), y])); break; } // TUPLE2
      case 0x87: { const z = pop(); const y = pop(); push(new Tuple([pop(), y, z])); break; } // TUPLE3
      case 0x6c: popMark(); push(new Opaque('list')); break; // LIST
      case 0x64: { // DICT
        if (popMark().length % 2) bad('DICT with an odd number of items');
        push(new Opaque('dict'));
        break;
      }
      // Containers are checked only for being built objects: LibTorch itself refuses the wrong kind with an error.
      case 0x61: pop(); container(top(), 'APPEND'); break;
      case 0x65: popMark(); container(top(), 'APPENDS'); break;
      case 0x73: pop(); pop(); container(top(), 'SETITEM'); break;
      case 0x75: { // SETITEMS
        if (popMark().length % 2) bad('SETITEMS with an odd number of items');
        container(top(), 'SETITEMS');
        break;
      }
      case 0x90: popMark(); container(top(), 'ADDITEMS'); break;
      case 0x4a: need(4); push(b.readInt32LE(pos)); pos += 4; break; // BININT
      case 0x4b: need(1); push(b[pos++]); break; // BININT1
      case 0x4d: need(2); push(b.readUInt16LE(pos)); pos += 2; break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement, at most 255 bytes
        const n = len(1);
        const raw = b.subarray(pos, pos + n);
        pos += n;
        let v = n ? BigInt('0x' + Buffer.from(raw).reverse().toString('hex')) : 0n;
        if (n && raw[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); push(b.readDoubleBE(pos)); pos += 8; break; // BINFLOAT
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x58: push(str(len(4), 'utf8')); break; // BINUNICODE
      case 0x8c: push(str(len(1), 'utf8')); break; // SHORT_BINUNICODE
      case 0x8d: push(str(len(8), 'utf8')); break; // BINUNICODE8
      case 0x55: push(str(len(1), 'latin1')); break; // SHORT_BINSTRING
      case 0x54: push(str(len(4), 'latin1')); break; // BINSTRING
      case 0x42: pos += len(4); push(new Opaque('object')); break; // BINBYTES
      case 0x43: pos += len(1); push(new Opaque('object')); break; // SHORT_BINBYTES
      case 0x8e: pos += len(8); push(new Opaque('object')); break; // BINBYTES8
      case 0x71: need(1); memo.set(b[pos++], top()); break; // BINPUT
      case 0x72: need(4); memo.set(b.readUInt32LE(pos), top()); pos += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        need(op === 0x68 ? 1 : 4);
        const i = op === 0x68 ? b[pos] : b.readUInt32LE(pos);
        pos += op === 0x68 ? 1 : 4;
        if (!memo.has(i)) bad(`memo slot ${i} was never stored`);
        push(memo.get(i));
        break;
      }
      case 0x63: { const module = line(); push(new Global(`${module}.${line()}`)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') bad('STACK_GLOBAL needs two strings');
        push(new Global(`${module}.${name}`));
        break;
      }
      case 0x52: { const args = pop(); push(reduce(pop(), args)); break; } // REDUCE
      case 0x81: { // NEWOBJ: cls, args -> object
        const args = pop();
        const cls = pop();
        if (!(cls instanceof Global) || !(args instanceof Tuple)) bad('NEWOBJ needs a class and a tuple');
        push(new Opaque('object'));
        break;
      }
      case 0x62: { // BUILD: object, state -> object
        pop();
        if (!(top() instanceof Opaque)) bad('BUILD on something that is not an object');
        break;
      }
      case 0x51: push(persistent(pop())); break; // BINPERSID
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      default:
        bad('an opcode TorchScript archives do not use');
    }
  }
}
