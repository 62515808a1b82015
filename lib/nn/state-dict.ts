/** State dicts: a module's tensors by PyTorch dotted name, and loading them back with every problem reported at once. */
import { Tensor, isTensor } from '../tensor';
import { TorchError } from '../errors';
import { noGrad } from '../autograd';
import type { Module } from './module';

/** Tensors by dotted name, insertion-ordered like PyTorch's `state_dict()`. */
export type StateDict = Record<string, Tensor>;

/** Options of stateDict(). */
export interface StateDictOptions {
  /** Prepended to every name (`'backbone.'`). */
  prefix?: string;
  /** Return the module's own tensors instead of detached views (PyTorch's `keep_vars`). */
  keepVars?: boolean;
}

/** Options of loadStateDict(). */
export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors (default true). Shape mismatches are errors either way. */
  strict?: boolean;
}

/** A key whose tensor has another shape than the module's. */
export interface ShapeMismatch {
  key: string;
  expected: number[];
  found: number[];
}

/** What loadStateDict() did. */
export interface LoadReport {
  /** Keys copied into the module. */
  loaded: string[];
  /** The module's keys that the state dict lacks. */
  missing: string[];
  /** State dict keys the module does not have. */
  unexpected: string[];
  /** Keys present on both sides with different shapes. */
  mismatched: ShapeMismatch[];
}

/** Thrown by loadStateDict() with every problem found; the module is left unchanged. */
export class StateDictError extends TorchError {
  missing: string[];
  unexpected: string[];
  mismatched: ShapeMismatch[];
  /** Keys whose value is not a tensor. */
  invalid: string[];
  constructor(message: string, parts: { missing: string[]; unexpected: string[]; mismatched: ShapeMismatch[]; invalid: string[] }) {
    super(message, { code: 'ERR_STATE_DICT' });
    this.name = 'StateDictError';
    this.missing = parts.missing;
    this.unexpected = parts.unexpected;
    this.mismatched = parts.mismatched;
    this.invalid = parts.invalid;
  }
}

/** Where each state-dict entry of a module lives: its owning module, local name, and tensor. */
export interface StateEntry {
  owner: Module;
  local: string;
  tensor: Tensor;
  /** Whether the owner declares this key optional (may be absent from a state dict). */
  optional: boolean;
}

/** The module's persistent tensors by dotted name, in PyTorch's order (per module: parameters, then buffers; then children). */
export function stateEntries(module: Module, prefix = ''): Map<string, StateEntry> {
  const out = new Map<string, StateEntry>();
  const seen = new Set<Module>();
  const walk = (m: Module, path: string) => {
    // PyTorch lists a module shared under two names under both; only a cycle must stop here.
    if (seen.has(m)) return;
    seen.add(m);
    const optional = new Set(m.optionalStateKeys());
    for (const [n, t] of m._parameters) if (t) out.set(path + n, { owner: m, local: n, tensor: t, optional: false });
    for (const [n, t] of m._buffers) {
      if (t && !m._nonPersistent.has(n)) out.set(path + n, { owner: m, local: n, tensor: t, optional: optional.has(n) });
    }
    for (const [n, c] of m._modules) if (c) walk(c, `${path}${n}.`);
    seen.delete(m);
  };
  walk(module, prefix);
  return out;
}

/** Implements Module.stateDict(). */
export function stateDictOf(module: Module, options: StateDictOptions = {}): StateDict {
  const sd: StateDict = {};
  for (const [k, e] of stateEntries(module, options.prefix ?? '')) sd[k] = options.keepVars ? e.tensor : e.tensor.detach();
  return sd;
}

function entriesOf(sd: StateDict | Map<string, Tensor>): [string, unknown][] {
  if (sd instanceof Map) return [...sd.entries()];
  if (sd === null || typeof sd !== 'object' || Array.isArray(sd) || isTensor(sd))
    throw new TypeError('loadStateDict(): expected a state dict (a plain object or a Map of name -> Tensor)');
  return Object.entries(sd);
}

const fmtShape = (s: number[]) => `[${s.join(', ')}]`;

/** Implements Module.loadStateDict(). */
export function loadStateDictInto(module: Module, sd: StateDict | Map<string, Tensor>, options: LoadStateDictOptions = {}): LoadReport {
  if (options === null || typeof options !== 'object') throw new TypeError('loadStateDict(): options must be an object such as { strict: false }');
  const strict = options.strict ?? true;
  const given = entriesOf(sd);
  const targets = stateEntries(module);
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], mismatched: [] };
  const invalid: string[] = [];
  const present = new Set<string>();
  const copies: [Tensor, Tensor][] = [];
  for (const [key, value] of given) {
    present.add(key);
    const target = targets.get(key);
    if (!target) {
      report.unexpected.push(key);
      continue;
    }
    if (!isTensor(value) || value.isDisposed) {
      invalid.push(key);
      continue;
    }
    const a = target.tensor.shape;
    const b = value.shape;
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
      report.mismatched.push({ key, expected: a, found: b });
      continue;
    }
    copies.push([target.tensor, value]);
    report.loaded.push(key);
  }
  for (const [key, e] of targets) if (!present.has(key) && !e.optional) report.missing.push(key);

  const problems: string[] = [];
  if (strict && report.missing.length) problems.push(`missing keys (${report.missing.length}): ${report.missing.join(', ')}`);
  if (strict && report.unexpected.length) problems.push(`unexpected keys (${report.unexpected.length}): ${report.unexpected.join(', ')}`);
  if (report.mismatched.length)
    problems.push(
      `shape mismatches (${report.mismatched.length}): ` +
        report.mismatched.map((m) => `${m.key} expected ${fmtShape(m.expected)}, found ${fmtShape(m.found)}`).join('; '),
    );
  if (invalid.length) problems.push(`not tensors (${invalid.length}): ${invalid.join(', ')}`);
  if (problems.length) {
    throw new StateDictError(
      `loadStateDict(): cannot load into ${module.constructor.name}; nothing was copied:\n  ${problems.join('\n  ')}` +
        (strict && !report.mismatched.length && !invalid.length ? '\n  (pass { strict: false } to load the keys that match)' : ''),
      { missing: report.missing, unexpected: report.unexpected, mismatched: report.mismatched, invalid },
    );
  }
  noGrad(() => {
    for (const [dst, src] of copies) dst.copy_(src);
  });
  return report;
}
