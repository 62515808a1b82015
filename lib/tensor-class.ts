/**
 * The Tensor class, defined in JavaScript: making a tensor object is a V8 allocation (~10 ns) instead of a Node-API
 * object (0.4-1.3 µs, more than a small op). Each object holds its native slot's handle in a private field, which only
 * objects this class constructed have: the brand check that tells a tensor from any other object (a copy, a Proxy,
 * `Object.create(Tensor.prototype)`). The hot methods pass handles to the addon's handle table (`binding.fast`); the
 * rest are the addon's own methods and accessors, which find their slot through {@link handleOf}.
 */
import type { Binding, FastFn, NativeTensor } from './binding';
import { noteValueRead } from './jit/trace-state';

/** What the constructor requires: only this module and the addon (given it at install) can make tensors. */
const token: object = Object.freeze(Object.create(null));

/** Tensors made in the global scope wait here in batches until the addon decides which need a GC finalizer. */
const PENDING_BATCH = 256; // TensorTable::kPendingBatch
const pending: unknown[] = new Array(PENDING_BATCH).fill(undefined);
/** [next index in `pending`, flush wanted]: shared with the addon, which fills the batch too. */
const pendingState = new Int32Array(2);
let flushPending: () => void = () => {};

/** A tensor's handle, or -1 for anything that is not one of this class's objects (never throws). */
let handleOf: (v: unknown) => number;
type Method = (this: Tensor, ...args: unknown[]) => unknown;
let fastMethod: (kind: 'unary' | 'unaryInPlace' | 'binary' | 'binaryInPlace' | 'member', fn: FastFn, slow?: Method, withNumber?: FastFn) => Method;

/** The class behind `tg.Tensor`; its members are installed from the addon by {@link installTensorClass}. */
class Tensor {
  readonly #h: number;

  constructor(key: unknown, handle: number) {
    if (key !== token) throw new TypeError('Tensor cannot be constructed directly: use tg.tensor(), tg.zeros() or another factory');
    this.#h = handle;
  }

  static {
    handleOf = (v) => (typeof v === 'object' && v !== null && #h in v ? (v as Tensor).#h : -1);
    const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && #h in v;
    // the receiver's handle; the addon's methods say the same for a receiver that is not a tensor
    const self = (t: unknown): number => {
      if (isTensor(t)) return t.#h;
      throw new TypeError('Tensor method called on an object that is not a Tensor');
    };
    fastMethod = (kind, fn, slow, withNumber) => {
      switch (kind) {
        case 'unary':
          return function (this: Tensor) {
            return adopt(fn(self(this)) as number);
          };
        case 'unaryInPlace':
          return function (this: Tensor) {
            fn(self(this));
            return this;
          };
        case 'binary':
          // other forms (alpha, a rounding mode, a boolean or BigInt operand) take the addon's method
          return function (this: Tensor, other: unknown, a?: unknown, b?: unknown) {
            if (a === undefined && b === undefined) {
              if (isTensor(other)) return adopt(fn(self(this), other.#h) as number);
              if (withNumber && typeof other === 'number') return adopt(withNumber(self(this), other) as number);
            }
            return slow!.call(this, other, a, b);
          };
        case 'binaryInPlace':
          return function (this: Tensor, other: unknown, a?: unknown, b?: unknown) {
            if (a === undefined && b === undefined) {
              if (isTensor(other)) {
                fn(self(this), other.#h);
                return this;
              }
              if (withNumber && typeof other === 'number') {
                withNumber(self(this), other);
                return this;
              }
            }
            return slow!.call(this, other, a, b);
          };
        case 'member':
          return function (this: Tensor) {
            return fn(self(this));
          };
      }
    };
  }
}

/** The object for a handle the addon returned: negative when made in the global scope (then it joins the batch). */
function adopt(h: number): Tensor {
  if (h >= 0) return new Tensor(token, h);
  const t = new Tensor(token, -h - 1);
  pending[pendingState[0]++] = t;
  if (pendingState[1] !== 0) flushPending();
  return t;
}

/** Whether v is a tensor object (disposed or not), by the private handle: no other object passes. */
export function isTensorObject(v: unknown): boolean {
  return handleOf(v) >= 0;
}

const GETTERS = ['shape', 'dtype', 'device', 'numel', 'ndim', 'requiresGrad', 'isLeaf', 'isDisposed'];
const METHODS = ['dispose'];

/**
 * Gives the class the addon's members (fast forms where the handle table has them, the addon's methods and accessors
 * for the rest) and registers it with the addon, which makes every tensor through it from then on.
 */
export function installTensorClass(binding: Binding): void {
  const proto = Tensor.prototype as unknown as Record<string | symbol, unknown>;
  const ops = Object.getOwnPropertyDescriptors(binding.TensorOps) as Record<string, PropertyDescriptor>;
  const { fast } = binding;
  for (const [name, d] of Object.entries(ops)) {
    if (name === 'constructor') continue;
    let value: Method | undefined;
    if (fast.unary[name]) value = fastMethod('unary', fast.unary[name]);
    else if (fast.unaryInPlace[name]) value = fastMethod('unaryInPlace', fast.unaryInPlace[name]);
    else if (fast.binary[name]) value = fastMethod('binary', fast.binary[name], d.value as Method, fast.scalar[name]);
    else if (fast.binaryInPlace[name]) value = fastMethod('binaryInPlace', fast.binaryInPlace[name], d.value as Method, fast.scalarInPlace[name]);
    else if (name === 'item') {
      const item = fastMethod('member', fast.members.item);
      value = function (this: Tensor) {
        noteValueRead('item()');
        return item.call(this);
      };
    } else if (METHODS.includes(name)) value = fastMethod('member', fast.members[name]);
    if (value) {
      Object.defineProperty(value, 'name', { value: name });
      Object.defineProperty(proto, name, { value, writable: true, configurable: true, enumerable: false });
    } else if (GETTERS.includes(name)) {
      const get = fastMethod('member', fast.members[name]);
      Object.defineProperty(get, 'name', { value: `get ${name}` });
      Object.defineProperty(proto, name, { get, set: d.set, configurable: true, enumerable: false });
    } else if (d.get) {
      Object.defineProperty(proto, name, { get: d.get, set: d.set, configurable: true, enumerable: false });
    } else {
      Object.defineProperty(proto, name, { value: d.value, writable: true, configurable: true, enumerable: false });
    }
  }
  flushPending = () => binding.flushPending();
  binding.setTensorClass(Tensor, handleOf, token, pending, pendingState);
  binding.Tensor = Tensor as unknown as { prototype: NativeTensor; new (): never };
}

export { Tensor as TensorClass };
