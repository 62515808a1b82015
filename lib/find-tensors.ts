/** Finds the tensors a value holds (in arrays, plain objects and Maps) for tidy() and dispose(), without running the value's getters. */
import { types } from 'node:util';
import { Tensor, isTensor } from './tensor';

const isIndex = (k: string): boolean => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 2 ** 32 - 1;

/** Pushes the own enumerable data properties of v (never accessors: a getter may throw or make tensors). */
function pushDataProperties(v: object, keys: string[], stack: unknown[]): void {
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    if (d && 'value' in d) stack.push(d.value);
  }
}

/** Pushes an array's elements in time linear in what it holds: a hole switches to its own keys (sparse arrays). */
function pushElements(a: unknown[], stack: unknown[]): void {
  // A Proxy's length is whatever its trap says: trust only the keys it lists.
  if (types.isProxy(a)) return pushDataProperties(a, Object.keys(a).filter(isIndex), stack);
  const n = a.length;
  for (let i = 0; i < n; i++) {
    const d = Object.getOwnPropertyDescriptor(a, i);
    if (d === undefined) return pushDataProperties(a, Object.keys(a).filter((k) => isIndex(k) && Number(k) > i), stack);
    if ('value' in d) stack.push(d.value);
  }
}

/**
 * The tensors in value: itself, or inside arrays, plain objects and Maps, to any depth (iteratively, cycles visited
 * once). Only data properties are read, so a getter never runs; a Proxy's traps do run and may throw.
 */
export function findTensors(value: unknown): Tensor[] {
  const out: Tensor[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isTensor(v)) out.push(v);
    else if (types.isMap(v)) Map.prototype.forEach.call(v, (x: unknown) => stack.push(x));
    else if (Array.isArray(v)) pushElements(v, stack);
    else if (Object.getPrototypeOf(v) === Object.prototype) pushDataProperties(v, Object.keys(v), stack);
  }
  return out;
}

/** Whether v is a Promise or has a `then` method (own or inherited data property; a `then` getter is not run). */
export function isThenable(v: unknown): boolean {
  if (types.isPromise(v)) return true;
  for (let o = v; o !== null && (typeof o === 'object' || typeof o === 'function'); o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, 'then');
    if (d) return 'value' in d && typeof d.value === 'function';
  }
  return false;
}
