/** State dicts: a module's tensors by PyTorch dotted name, and loading them back with every problem reported at once. */
import { Tensor, isTensor } from '../tensor';
import { TorchError } from '../errors';
import { noGrad } from '../autograd';
import type { Module } from './module';
import { NamePattern, compilePattern } from './pattern';
import { LoadReport, LoadReportData, nameHint, ShapeMismatch, someKeys } from './load-report';
import { RenameRules, compileRename } from './rename';

/** Tensors by dotted name, insertion-ordered like PyTorch's `state_dict()`. */
export type StateDict = Record<string, Tensor>;

/** Options of stateDict(). */
export interface StateDictOptions {
  /** Prepended to every name (`'backbone.'`). */
  prefix?: string;
  /** Return the module's own tensors instead of detached views (PyTorch's `keep_vars`). */
  keepVars?: boolean;
}

/**
 * Options of loadStateDict(). Each checkpoint key is transformed in this order: stripPrefix, rename, addPrefix;
 * include / exclude then select among the resulting (module) names. Out-of-scope keys are never errors: the
 * checkpoint's go to `skipped`, the module's are left as they are (not `missing`).
 * @example net.loadStateDict(sd, { include: /^hidden[123]\./ })   // the textbook's partial restore, strict within scope
 */
export interface LoadStateDictOptions {
  /** Missing and unexpected keys (within include/exclude) are errors (default true, also with the other options). */
  strict?: boolean;
  /** Load only keys that match (module names after renaming): a glob (`hidden[123]`), a RegExp, a list, or a predicate. */
  include?: NamePattern;
  /** Leave out keys that match, also within include. */
  exclude?: NamePattern;
  /** Renames checkpoint keys after stripPrefix: a prefix map (`{ 'dense_1.': 'hidden1.' }`), [RegExp, replacement] pairs, or a function. */
  rename?: RenameRules;
  /** Removed from the start of the checkpoint keys that have it, first (`'module.'` from DataParallel). */
  stripPrefix?: string;
  /** Prepended to every checkpoint key, last (`'backbone.'` to load a backbone's checkpoint into a larger model). */
  addPrefix?: string;
  /** Report shape mismatches in `mismatched` and skip them, instead of failing (default false). */
  skipMismatched?: boolean;
}

const OPTION_KEYS = ['strict', 'include', 'exclude', 'rename', 'stripPrefix', 'addPrefix', 'skipMismatched'];

export { LoadReport };
export type { ShapeMismatch, LoadReportData };

/** Thrown by loadStateDict() with every problem found; the module is left unchanged. */
export class StateDictError extends TorchError {
  missing: string[];
  unexpected: string[];
  mismatched: ShapeMismatch[];
  /** Keys whose value is not a tensor, or a disposed one. */
  invalid: string[];
  /** Module keys that several checkpoint keys were renamed to. */
  duplicates: string[];
  constructor(
    message: string,
    parts: { missing: string[]; unexpected: string[]; mismatched: ShapeMismatch[]; invalid: string[]; duplicates?: string[] },
  ) {
    super(message, { code: 'ERR_STATE_DICT' });
    this.name = 'StateDictError';
    this.missing = parts.missing;
    this.unexpected = parts.unexpected;
    this.mismatched = parts.mismatched;
    this.invalid = parts.invalid;
    this.duplicates = parts.duplicates ?? [];
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

function checkOptions(options: LoadStateDictOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new TypeError('loadStateDict(): options must be an object such as { strict: false }');
  const unknown = Object.keys(options).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length) throw new TypeError(`loadStateDict(): unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${OPTION_KEYS.join(', ')})`);
  for (const k of ['strict', 'skipMismatched'] as const)
    if (options[k] !== undefined && typeof options[k] !== 'boolean') throw new TypeError(`loadStateDict(): ${k} must be a boolean`);
  for (const k of ['stripPrefix', 'addPrefix'] as const)
    if (options[k] !== undefined && typeof options[k] !== 'string') throw new TypeError(`loadStateDict(): ${k} must be a string`);
}

/** The key transform of the options: stripPrefix, then rename, then addPrefix. */
function keyTransform(options: LoadStateDictOptions): (key: string) => { key: string; stripped: boolean; renamed: boolean } {
  const rename = compileRename(options.rename);
  const { stripPrefix, addPrefix } = options;
  return (original) => {
    let key = original;
    const stripped = !!stripPrefix && key.startsWith(stripPrefix);
    if (stripped) key = key.slice(stripPrefix!.length);
    const before = key;
    key = rename(key);
    if (typeof key !== 'string') throw new TypeError(`loadStateDict(): rename turned '${original}' into ${typeof key}, not a string`);
    if (addPrefix) key = addPrefix + key;
    return { key, stripped, renamed: key !== (addPrefix ?? '') + before };
  };
}

/** Implements Module.loadStateDict(): checks everything first, then copies in place (no grad), or throws having copied nothing. */
export function loadStateDictInto(module: Module, sd: StateDict | Map<string, Tensor>, options: LoadStateDictOptions = {}): LoadReport {
  checkOptions(options);
  const strict = options.strict ?? true;
  const given = entriesOf(sd);
  const transform = keyTransform(options);
  const include = options.include === undefined ? undefined : compilePattern(options.include);
  const exclude = options.exclude === undefined ? undefined : compilePattern(options.exclude);
  const inScope = (k: string) => (!include || include(k)) && !(exclude && exclude(k));
  const targets = stateEntries(module);
  const report = new LoadReport();
  const invalid: string[] = [];
  const disposed: string[] = [];
  const sources = new Map<string, string[]>();
  const copies: [Tensor, Tensor][] = [];
  let stripped = 0;
  let renamed = 0;
  let included = 0;
  let excluded = 0;
  for (const [original, value] of given) {
    const t = transform(original);
    const key = t.key;
    if (t.stripped) stripped++;
    if (t.renamed) renamed++;
    if (key !== original) report.renamed.push([original, key]);
    sources.set(key, [...(sources.get(key) ?? []), original]);
    if (include?.(key)) included++;
    if (exclude?.(key)) excluded++;
    if (!inScope(key)) {
      report.skipped.push(key);
      continue;
    }
    const target = targets.get(key);
    if (!target) {
      report.unexpected.push(key);
      continue;
    }
    if (!isTensor(value)) {
      invalid.push(key);
      continue;
    }
    if (value.isDisposed) {
      disposed.push(key);
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
  for (const [key, e] of targets) if (!sources.has(key) && !e.optional && inScope(key)) report.missing.push(key);
  const duplicates = [...sources].filter(([, from]) => from.length > 1);

  // Options that changed nothing are reported: a prefix or pattern that matches no key is usually a typo.
  if (options.stripPrefix && !stripped) report.warnings.push(`stripPrefix '${options.stripPrefix}': no key starts with it`);
  if (options.rename !== undefined && !renamed) report.warnings.push('rename: it changed no key');
  if (include && !included) report.warnings.push(`include: it matched none of the ${given.length} keys of the state dict, so nothing was loaded`);
  if (exclude && !excluded) report.warnings.push('exclude: it matched no key of the state dict');

  const problems: string[] = [];
  // Each list is cut at SHOWN keys: the error's fields (e.missing, ...) hold them all.
  if (strict && report.missing.length) problems.push(`missing keys (${report.missing.length}): ${someKeys(report.missing)}`);
  if (strict && report.unexpected.length) problems.push(`unexpected keys (${report.unexpected.length}): ${someKeys(report.unexpected)}`);
  if (report.mismatched.length && !options.skipMismatched)
    problems.push(
      `shape mismatches (${report.mismatched.length}): ` +
        someKeys(report.mismatched.map((m) => `${m.key} expected ${fmtShape(m.expected)}, found ${fmtShape(m.found)}`), '; '),
    );
  if (invalid.length) problems.push(`not tensors (${invalid.length}): ${someKeys(invalid)}`);
  if (disposed.length) problems.push(`disposed tensors (${disposed.length}): ${someKeys(disposed)}`);
  if (duplicates.length)
    problems.push(`keys renamed to the same name (${duplicates.length}): ${someKeys(duplicates.map(([k, from]) => `${from.join(' and ')} -> ${k}`), '; ')}`);
  if (problems.length) {
    const hints: string[] = [];
    const names = strict ? nameHint(report) : undefined;
    if (names) hints.push(names);
    // with no key matching, strict: false would load nothing: no use suggesting it
    if (strict && (report.missing.length || report.unexpected.length) && report.loaded.length) hints.push(`{ strict: false } loads the ${report.loaded.length} keys that match`);
    if (report.mismatched.length && !options.skipMismatched) hints.push(`{ skipMismatched: true } skips shape mismatches (e.mismatched lists all ${report.mismatched.length})`);
    throw new StateDictError(
      `loadStateDict(): cannot load into ${module.constructor.name}; nothing was copied:\n  ${problems.join('\n  ')}` +
        (hints.length ? `\n  (${hints.join('; ')})` : ''),
      {
        missing: report.missing,
        unexpected: report.unexpected,
        mismatched: report.mismatched,
        invalid: [...invalid, ...disposed],
        duplicates: duplicates.map(([k]) => k),
      },
    );
  }
  noGrad(() => {
    for (const [dst, src] of copies) dst.copy_(src);
  });
  return report;
}
