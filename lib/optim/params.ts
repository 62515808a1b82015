/** What an optimizer accepts as parameters: lists of tensors, named lists, or parameter groups. */
import { isTensor, Tensor } from '../tensor';
import { parameterName } from '../nn/parameter';

/**
 * A list of parameters: tensors (named by the model they were listed from, see `Module.parameters()`),
 * `[name, tensor]` pairs (as `namedParameters()` gives), a `Map`, or a `{ name: tensor }` record.
 */
export type ParamsInput =
  | Iterable<Tensor>
  | Iterable<readonly [string, Tensor]>
  | ReadonlyMap<string, Tensor>
  | Readonly<Record<string, Tensor>>;

/** A parameter group: its parameters, and any options that differ from the optimizer's defaults. */
export type ParamGroupInput<O> = { params: ParamsInput } & Partial<O>;

/** A parameter as the optimizer keeps it: the tensor and the name its state is saved under. */
export interface NamedParam {
  name: string | undefined;
  tensor: Tensor;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (isTensor(v)) return 'a Tensor';
  return typeof v === 'object' ? 'a plain object' : `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/** Whether an element of the top-level list is a `{ params, ... }` group rather than a parameter. */
function isGroup(v: unknown): v is ParamGroupInput<unknown> {
  return isPlainObject(v) && 'params' in v && !isTensor(v.params);
}

function checkTensor(t: unknown, label: string, where: string, leaf: boolean): Tensor {
  if (!isTensor(t)) throw new TypeError(`${where}: ${label} is not a Tensor (got ${describe(t)})`);
  if (t.isDisposed) throw new TypeError(`${where}: ${label} is a disposed Tensor`);
  if (leaf && !t.isLeaf) {
    throw new TypeError(`${where}: ${label} is not a leaf tensor (it was computed from others); optimize the leaf, or detach() it`);
  }
  return t;
}

/**
 * Normalizes one parameter list; throws TypeError naming the first entry that is not a usable tensor
 * (with `leaf`, the default, a tensor computed from others is not usable: only leaves can be optimized).
 */
export function normalizeParams(input: unknown, where: string, leaf = true): NamedParam[] {
  if (isTensor(input)) {
    throw new TypeError(`${where}: params must be a list of tensors, [name, tensor] pairs or { name: tensor }, not a single Tensor (wrap it in an array)`);
  }
  const out: NamedParam[] = [];
  if (input instanceof Map) {
    for (const [name, t] of input) out.push({ name: String(name), tensor: checkTensor(t, `params '${String(name)}'`, where, leaf) });
    return out;
  }
  if (isPlainObject(input)) {
    for (const [name, t] of Object.entries(input)) out.push({ name, tensor: checkTensor(t, `params '${name}'`, where, leaf) });
    return out;
  }
  if (input === null || typeof input !== 'object' || typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${where}: params must be a list of tensors, [name, tensor] pairs or { name: tensor }, got ${describe(input)}`);
  }
  let i = 0;
  for (const item of input as Iterable<unknown>) {
    if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'string') {
      out.push({ name: item[0], tensor: checkTensor(item[1], `params '${item[0]}'`, where, leaf) });
    } else {
      const t = checkTensor(item, `params[${i}]`, where, leaf);
      out.push({ name: parameterName(t), tensor: t });
    }
    i++;
  }
  return out;
}

/** Splits the constructor's first argument into groups: a parameter list is one group. */
export function splitGroups<O>(input: unknown, where: string): { params: NamedParam[]; options: Partial<O> }[] {
  if (Array.isArray(input) && input.some(isGroup)) {
    return input.map((g, i) => {
      if (!isGroup(g)) throw new TypeError(`${where}: param group ${i} must be { params, ...options } like the others, got ${describe(g)}`);
      const { params, ...options } = g as ParamGroupInput<O>;
      return { params: normalizeParams(params, `${where}: param group ${i}`), options: options as unknown as Partial<O> };
    });
  }
  if (isGroup(input)) {
    const { params, ...options } = input as ParamGroupInput<O>;
    return [{ params: normalizeParams(params, where), options: options as unknown as Partial<O> }];
  }
  return [{ params: normalizeParams(input, where), options: {} }];
}
