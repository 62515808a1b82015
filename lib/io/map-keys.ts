/**
 * Renaming foreign state dicts onto a model: `mapKeys` applies explicit rules; `proposeMapping` guesses a mapping
 * by order and shape when the names differ and shows it for review before `apply()`.
 */
import { TorchError } from '../errors';
import { Tensor, isTensor } from '../tensor';
import { Module } from '../nn/module';
import { RenameRules, compileRename } from '../nn/rename';
import { recordOf } from './registry';
import { StateDictLike, stateDictEntries } from './safetensors';

/**
 * Renames a state dict's keys with the same rules as `loadStateDict`'s `rename`: a prefix map
 * (`{ 'dense_1.': 'hidden1.' }`, longest prefix wins), [RegExp, replacement] pairs applied in order, or a function
 * (undefined keeps the key). The tensors are the same objects (not copied); order is kept.
 * @throws TypeError for bad rules or a value that is not a tensor; TorchError `ERR_MAP_KEYS_COLLISION` when two
 *   keys would get the same name.
 * @example tg.io.mapKeys(sd, [[/^conv2d_(\d+)\./, 'features.$1.']])
 */
export function mapKeys(sd: StateDictLike, rules: RenameRules): Record<string, Tensor> {
  const rename = compileRename(rules);
  const out: [string, Tensor][] = [];
  const from = new Map<string, string>();
  for (const [k, t] of stateDictEntries(sd, 'io.mapKeys()')) {
    const n = rename(k);
    if (typeof n !== 'string') throw new TypeError(`io.mapKeys(): the rules renamed '${k}' to a ${typeof n}, not a string`);
    const prev = from.get(n);
    if (prev !== undefined) throw new TorchError(`io.mapKeys(): '${prev}' and '${k}' would both be named '${n}'`, { code: 'ERR_MAP_KEYS_COLLISION' });
    from.set(n, k);
    out.push([n, t]);
  }
  return recordOf(out);
}

/** One proposed pair: the foreign tensor `from` goes to the model's `to`. */
export interface MappingPair {
  from: string;
  to: string;
  shape: number[];
  /** 1 for the same name; lower as the evidence weakens (0.5: only shape and order agree). */
  confidence: number;
  reason: string;
}

/** A name and shape on one side that the proposal leaves unmatched. */
export interface Unmatched {
  name: string;
  shape: number[];
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const kind = (name: string) => name.slice(name.lastIndexOf('.') + 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A reviewable mapping from a foreign state dict onto a model's names. */
export class MappingProposal {
  constructor(
    /** Matched pairs, in the model's order. */
    readonly pairs: MappingPair[],
    /** Foreign tensors nothing was matched to. */
    readonly unmatchedForeign: Unmatched[],
    /** Model entries nothing was matched to (they would be `missing` on load). */
    readonly unmatchedModel: Unmatched[],
    private readonly source: Map<string, Tensor>,
  ) {}

  /** A table for review: one line per pair (confidence, from, to, shape, reason), then the unmatched names. */
  toString(): string {
    const rows = this.pairs.map((p) => [p.confidence.toFixed(2), p.from, p.to, fmt(p.shape), p.reason]);
    const head = ['conf', 'from (file)', 'to (model)', 'shape', 'reason'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
    out.push(`${this.pairs.length} matched, ${this.unmatchedForeign.length} unmatched in the file, ${this.unmatchedModel.length} unmatched in the model`);
    for (const u of this.unmatchedForeign) out.push(`  file only:  ${u.name} ${fmt(u.shape)}`);
    for (const u of this.unmatchedModel) out.push(`  model only: ${u.name} ${fmt(u.shape)}`);
    return out.join('\n');
  }

  /**
   * The foreign tensors under the model's names, for `model.loadStateDict(p.apply(), { strict: false })`.
   * The tensors are the foreign state dict's own objects (not copied).
   * @param options `minConfidence`: leave out pairs below it (default 0: all).
   */
  apply(options: { minConfidence?: number } = {}): Record<string, Tensor> {
    const min = options.minConfidence ?? 0;
    return recordOf(this.pairs.filter((p) => p.confidence >= min).map((p) => [p.to, this.source.get(p.from) as Tensor]));
  }
}

/** Anything with PyTorch's `stateDict()`: a Module, a TorchScript module. */
interface HasStateDict {
  stateDict(): Record<string, Tensor>;
}
const hasStateDict = (m: unknown): m is HasStateDict => m instanceof Module || (m !== null && typeof m === 'object' && typeof (m as HasStateDict).stateDict === 'function');

/** Names and shapes of the target: a module's state dict (parameters and persistent buffers) or a state dict. */
function targetShapes(model: HasStateDict | StateDictLike): Unmatched[] {
  if (hasStateDict(model)) {
    const sd = model.stateDict();
    const out = Object.entries(sd).map(([name, t]) => ({ name, shape: [...t.shape] }));
    for (const t of Object.values(sd)) t.dispose();
    return out;
  }
  return stateDictEntries(model, 'io.proposeMapping()').map(([name, t]) => ({ name, shape: [...t.shape] }));
}

// Beyond this many cells the order alignment is skipped for a greedy walk (a million-cell table is instant).
const MAX_ALIGN_CELLS = 25_000_000;

/**
 * Proposes how a foreign state dict's tensors map onto a model's state dict: first identical names with the same
 * shape, then, in order, the alignment that pairs the most tensors of equal shape (preferring equal kinds: weight
 * with weight, running_var with running_var). Nothing is renamed until `apply()`; print the proposal to review it.
 * @param foreign the file's tensors (e.g. `await tg.io.load('model.onnx')`).
 * @param model a Module or anything with `stateDict()` (a TorchScript module), or a state dict of the target names and shapes.
 * @example const p = tg.io.proposeMapping(await tg.io.load('w.h5'), net); console.log(String(p)); net.loadStateDict(p.apply());
 */
export function proposeMapping(foreign: StateDictLike, model: HasStateDict | StateDictLike): MappingProposal {
  const src = stateDictEntries(foreign, 'io.proposeMapping()');
  if (!hasStateDict(model) && (model === null || typeof model !== 'object' || isTensor(model)))
    throw new TypeError('io.proposeMapping(): model must be a Module or a state dict');
  const a = src.map(([name, t]) => ({ name, shape: [...t.shape] }));
  const b = targetShapes(model);
  const pairOf = new Map<number, { i: number; confidence: number; reason: string }>();
  const usedA = new Set<number>();
  const byName = new Map(a.map((x, i) => [x.name, i]));
  b.forEach((y, j) => {
    const i = byName.get(y.name);
    if (i !== undefined && sameShape(a[i].shape, y.shape)) {
      pairOf.set(j, { i, confidence: 1, reason: 'same name and shape' });
      usedA.add(i);
    }
  });
  const restA = a.map((_, i) => i).filter((i) => !usedA.has(i));
  const restB = b.map((_, j) => j).filter((j) => !pairOf.has(j));
  const score = (i: number, j: number) => (sameShape(a[i].shape, b[j].shape) ? (kind(a[i].name) === kind(b[j].name) ? 3 : 2) : 0);
  for (const [i, j] of align(restA, restB, score)) {
    const shape = b[j].shape;
    const ambiguous = restA.filter((x) => sameShape(a[x].shape, shape)).length > 1 || restB.filter((y) => sameShape(b[y].shape, shape)).length > 1;
    const sameKind = kind(a[i].name) === kind(b[j].name);
    const confidence = (ambiguous ? 0.75 : 0.95) - (sameKind ? 0 : 0.25);
    const reason = `${ambiguous ? 'same shape, paired by order among several of that shape' : 'the only tensor of this shape on both sides'}${sameKind ? `, both '${kind(b[j].name)}'` : `, but '${kind(a[i].name)}' vs '${kind(b[j].name)}'`}`;
    pairOf.set(j, { i, confidence, reason });
    usedA.add(i);
  }
  const pairs = [...pairOf.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([j, p]) => ({ from: a[p.i].name, to: b[j].name, shape: b[j].shape, confidence: p.confidence, reason: p.reason }));
  return new MappingProposal(
    pairs,
    a.filter((_, i) => !usedA.has(i)),
    b.filter((_, j) => !pairOf.has(j)),
    new Map(src),
  );
}

/** Order-preserving alignment of two index lists maximising the summed score (a weighted longest common subsequence). */
function align(as: number[], bs: number[], score: (i: number, j: number) => number): [number, number][] {
  const n = as.length;
  const m = bs.length;
  if (n * m > MAX_ALIGN_CELLS) {
    // Greedy in order: each model entry takes the next unused foreign tensor of its shape.
    const out: [number, number][] = [];
    let from = 0;
    for (const j of bs) {
      for (let k = from; k < n; k++)
        if (score(as[k], j) > 0) {
          out.push([as[k], j]);
          from = k + 1;
          break;
        }
    }
    return out;
  }
  const dp = new Float64Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) {
      const s = score(as[i], bs[j]);
      dp[at(i, j)] = Math.max(dp[at(i + 1, j)], dp[at(i, j + 1)], s > 0 ? s + dp[at(i + 1, j + 1)] : 0);
    }
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const s = score(as[i], bs[j]);
    if (s > 0 && dp[at(i, j)] === s + dp[at(i + 1, j + 1)]) {
      out.push([as[i], bs[j]]);
      i++;
      j++;
    } else if (dp[at(i, j)] === dp[at(i + 1, j)]) i++;
    else j++;
  }
  return out;
}
