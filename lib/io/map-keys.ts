/**
 * Renaming foreign state dicts onto a model: `mapKeys` applies explicit rules; `proposeMapping` guesses a mapping
 * by order and shape when the names differ and shows it for review before `apply()`, which refuses pairs the
 * evidence cannot tell apart.
 */
import { TorchError } from '../errors';
import { Tensor, isTensor } from '../tensor';
import { Module } from '../nn/module';
import { RenameRules, compileRename } from '../nn/rename';
import { LoadedWeights, layerOrderOf, recordOf } from './registry';
import { align, isNameSorted, naturalCompare, pytorchVariableOrder } from './map-align';
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
  /**
   * 1 for the same name; 0.95 for the only tensor of its shape on both sides; 0.85 / 0.75 for a pair told apart by
   * the file's layer order / its stored order; 0.8 for the only one of its shape and kind when there is no order;
   * 0.5 for an ambiguous pair; 0.25 less when the variable kinds differ.
   */
  confidence: number;
  reason: string;
  /** True when another pairing fits the evidence (shape, names, order) as well: `apply()` refuses it unless allowed. */
  ambiguous: boolean;
  /** For an ambiguous pair, the conflicting pairs that fit as well (sharing its `from` or its `to`); else empty. */
  alternatives: { from: string; to: string }[];
}

/** A name and shape on one side that the proposal leaves unmatched. */
export interface Unmatched {
  name: string;
  shape: number[];
}

/**
 * Where the foreign tensors' order came from: `'layers'` the file's layer order (Keras `layer_names`, a TF.js
 * topology, or `options.order`); `'stored'` the state dict's own key order; `'natural'` none usable (the keys were
 * sorted by name), so a natural sort of the names (`block_2` before `block_10`), which is only a guess.
 */
export type MappingOrder = 'layers' | 'stored' | 'natural';

/** Options of `MappingProposal.apply`. */
export interface ApplyMappingOptions {
  /** Leave out pairs below this confidence (default 0: all). */
  minConfidence?: number;
  /** Include ambiguous pairs instead of refusing them (default false). */
  allowAmbiguous?: boolean;
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const kind = (name: string) => name.slice(name.lastIndexOf('.') + 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const shapeKey = (s: readonly number[]) => s.join('x');

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
    /** Where the foreign order came from (see MappingOrder). */
    readonly order: MappingOrder = 'stored',
  ) {}

  /** The pairs marked ambiguous. */
  get ambiguous(): MappingPair[] {
    return this.pairs.filter((p) => p.ambiguous);
  }

  /** A table for review: one line per pair (confidence, from, to, shape, reason; `?` marks ambiguous), then the unmatched names. */
  toString(): string {
    const rows = this.pairs.map((p) => [`${p.confidence.toFixed(2)}${p.ambiguous ? '?' : ''}`, p.from, p.to, fmt(p.shape), p.reason]);
    const head = ['conf', 'from (file)', 'to (model)', 'shape', 'reason'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
    out.push(`${this.pairs.length} matched, ${this.unmatchedForeign.length} unmatched in the file, ${this.unmatchedModel.length} unmatched in the model`);
    const amb = this.ambiguous.length;
    if (amb) out.push(`${amb} ambiguous (marked ?): apply() refuses them unless { allowAmbiguous: true }`);
    out.push(`file order: ${this.order === 'layers' ? "the file's layer order" : this.order === 'stored' ? 'as stored' : 'none recorded, natural sort of the names'}`);
    for (const u of this.unmatchedForeign) out.push(`  file only:  ${u.name} ${fmt(u.shape)}`);
    for (const u of this.unmatchedModel) out.push(`  model only: ${u.name} ${fmt(u.shape)}`);
    return out.join('\n');
  }

  /**
   * The foreign tensors under the model's names, for `model.loadStateDict(p.apply(), { strict: false })`.
   * The tensors are the foreign state dict's own objects (not copied).
   * @param options `minConfidence`: leave out pairs below it (default 0: all); `allowAmbiguous`: include ambiguous pairs.
   * @throws TorchError `ERR_AMBIGUOUS_MAPPING` when a pair kept is ambiguous and `allowAmbiguous` is not set; the
   *   message names the pairs and their alternatives (rename them with `mapKeys`, or raise `minConfidence` above 0.5).
   */
  apply(options: ApplyMappingOptions = {}): Record<string, Tensor> {
    const min = options.minConfidence ?? 0;
    const kept = this.pairs.filter((p) => p.confidence >= min);
    const amb = kept.filter((p) => p.ambiguous);
    if (amb.length && options.allowAmbiguous !== true) {
      const show = amb.slice(0, 3).map((p) => `'${p.from}' -> '${p.to}' (or ${p.alternatives.slice(0, 2).map((a) => `'${a.from}' -> '${a.to}'`).join(', ')})`);
      throw new TorchError(
        `io.proposeMapping(): apply() refuses ${amb.length} ambiguous pair(s) that shape, names and order cannot tell apart: ${show.join('; ')}${amb.length > 3 ? '; ...' : ''}. ` +
          'Review them (String(proposal)), name them with io.mapKeys, pass the layer order ({ order }), or apply({ allowAmbiguous: true })',
        { code: 'ERR_AMBIGUOUS_MAPPING' },
      );
    }
    return recordOf(kept.map((p) => [p.to, this.source.get(p.from) as Tensor]));
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

const isLoaded = (x: unknown): x is LoadedWeights =>
  x !== null && typeof x === 'object' && typeof (x as LoadedWeights).format === 'string' && Array.isArray((x as LoadedWeights).names) && typeof (x as LoadedWeights).tensors === 'object';

/** Options of `io.proposeMapping`. */
export interface ProposeMappingOptions {
  /** Every foreign tensor name once, in the model's layer order, when the foreign state dict's own order is not it. */
  order?: readonly string[];
}

/** The foreign names in the order to align them, and where that order came from. */
function foreignOrder(names: string[], given: readonly string[] | undefined, carried: string[] | undefined): { names: string[]; order: MappingOrder } {
  const complete = (o: readonly string[]) => o.length === names.length && new Set(o).size === o.length && o.every((n) => names.includes(n));
  if (given !== undefined) {
    if (!Array.isArray(given) || !given.every((n) => typeof n === 'string') || !complete(given))
      throw new TypeError('io.proposeMapping(): options.order must list every foreign tensor name exactly once');
    return { names: pytorchVariableOrder(given), order: 'layers' };
  }
  // A loader's order no longer fits when the object was edited after loading; then it is not used.
  if (carried && complete(carried)) return { names: pytorchVariableOrder(carried), order: 'layers' };
  if (isNameSorted(names)) return { names: pytorchVariableOrder([...names].sort(naturalCompare)), order: 'natural' };
  return { names: pytorchVariableOrder(names), order: 'stored' };
}

/** Index pairs [i, j] of the shapes found exactly once in `as` and once in `bs`. */
function uniqueShapePairs(as: Unmatched[], bs: Unmatched[]): [number, number][] {
  const where = (side: Unmatched[]) => {
    const m = new Map<string, number[]>();
    side.forEach((x, k) => m.set(shapeKey(x.shape), [...(m.get(shapeKey(x.shape)) ?? []), k]));
    return m;
  };
  const inB = where(bs);
  const out: [number, number][] = [];
  for (const [key, is] of where(as)) {
    const js = inB.get(key);
    if (is.length === 1 && js?.length === 1) out.push([is[0], js[0]]);
  }
  return out;
}

/**
 * Proposes how a foreign state dict's tensors map onto a model's state dict: first identical names with the same
 * shape, then every shape found exactly once on each side, then, in order, the alignment that pairs the most
 * tensors of equal shape (preferring equal kinds: weight with weight, running_var with running_var).
 * The foreign order is the file's layer order when it records one (`tg.io.load` of Keras HDF5 and TF.js layers
 * models carries it, as does `loadWithMetadata`'s result or `options.order`), else the keys' own order, unless
 * that is a plain name sort (TF.js manifests: `block_10_` before `block_1_`), which gives no order: the names are
 * then sorted naturally and the pairs only that order separates are ambiguous. A pair is ambiguous (`ambiguous:
 * true`, with its `alternatives`) whenever another pairing fits the evidence as well; `apply()` refuses those unless
 * `{ allowAmbiguous: true }`. Nothing is renamed until `apply()`; print the proposal to review it.
 * @param foreign the file's tensors (`await tg.io.load('model.h5')`, or `loadWithMetadata`'s result).
 * @param model a Module or anything with `stateDict()` (a TorchScript module), or a state dict of the target names and shapes.
 * @param options `order`: the foreign names in the model's layer order.
 * @throws TypeError for a foreign value that is not a state dict, a bad model or a bad `order`.
 * @example const p = tg.io.proposeMapping(await tg.io.load('w.h5'), net); console.log(String(p)); net.loadStateDict(p.apply());
 */
export function proposeMapping(foreign: StateDictLike | LoadedWeights, model: HasStateDict | StateDictLike, options: ProposeMappingOptions = {}): MappingProposal {
  const carried = isLoaded(foreign) ? foreign.layerOrder : layerOrderOf(foreign);
  const src = stateDictEntries(isLoaded(foreign) ? foreign.tensors : foreign, 'io.proposeMapping()');
  if (!hasStateDict(model) && (model === null || typeof model !== 'object' || isTensor(model)))
    throw new TypeError('io.proposeMapping(): model must be a Module or a state dict');
  const byKey = new Map(src);
  const { names, order } = foreignOrder(src.map(([k]) => k), options.order, carried);
  const a = names.map((name) => ({ name, shape: [...(byKey.get(name) as Tensor).shape] }));
  const b = targetShapes(model);
  const pairOf = new Map<number, { i: number; confidence: number; reason: string; rivals: [number, number][] }>();
  const usedA = new Set<number>();
  const take = (i: number, j: number, confidence: number, reason: string, rivals: [number, number][] = []) => {
    pairOf.set(j, { i, confidence, reason, rivals });
    usedA.add(i);
  };
  const byName = new Map(a.map((x, i) => [x.name, i]));
  b.forEach((y, j) => {
    const i = byName.get(y.name);
    if (i !== undefined && sameShape(a[i].shape, y.shape)) take(i, j, 1, 'same name and shape');
  });
  const kinds = (i: number, j: number) => {
    const same = kind(a[i].name) === kind(b[j].name);
    return { same, penalty: same ? 0 : 0.25, text: same ? `, both '${kind(b[j].name)}'` : `, but '${kind(a[i].name)}' vs '${kind(b[j].name)}'` };
  };
  // A shape found once among the unmatched on each side pairs whatever the order says.
  const restIdx = () => ({ ra: a.map((_, i) => i).filter((i) => !usedA.has(i)), rb: b.map((_, j) => j).filter((j) => !pairOf.has(j)) });
  const first = restIdx();
  for (const [i, j] of uniqueShapePairs(first.ra.map((i) => a[i]), first.rb.map((j) => b[j])).map(([x, y]) => [first.ra[x], first.rb[y]])) {
    const k = kinds(i, j);
    take(i, j, 0.95 - k.penalty, `the only tensor of this shape on both sides${k.text}`);
  }
  const { ra: restA, rb: restB } = restIdx();
  const score = (i: number, j: number) => (sameShape(a[i].shape, b[j].shape) ? (kind(a[i].name) === kind(b[j].name) ? 3 : 2) : 0);
  // Without a trusted order, the order between tensors of different shapes means nothing: each shape aligns alone.
  const groups = order === 'natural' ? [...new Set(restA.map((i) => shapeKey(a[i].shape)))].map((key) => [restA.filter((i) => shapeKey(a[i].shape) === key), restB.filter((j) => shapeKey(b[j].shape) === key)]) : [[restA, restB]];
  const runs = groups.map(([ga, gb]) => align(ga, gb, score));
  const aligned = runs.flatMap((r) => r.pairs);
  const exact = runs.every((r) => r.exact);
  for (const { i, j, rivals: bestRivals } of aligned) {
    const k = kinds(i, j);
    // Without a trusted order, any other candidate of the same shape (and the same kind, when kinds agree) is a rival.
    const candidate = (x: number, y: number) => sameShape(a[x].shape, b[y].shape) && (!k.same || kind(a[x].name) === kind(b[y].name));
    const rivals: [number, number][] =
      order === 'natural' || !exact
        ? [...restB.filter((y) => y !== j && candidate(i, y)).map((y): [number, number] => [i, y]), ...restA.filter((x) => x !== i && candidate(x, j)).map((x): [number, number] => [x, j])]
        : bestRivals;
    if (rivals.length) take(i, j, 0.5 - k.penalty, `ambiguous: same shape, ${order === 'natural' ? 'no recorded order to tell them apart' : 'other pairings fit the order as well'}${k.text}`, rivals);
    else if (order === 'natural') take(i, j, 0.8, `same shape, the only '${kind(b[j].name)}' of it on both sides`);
    else take(i, j, (order === 'layers' ? 0.85 : 0.75) - k.penalty, `same shape, told apart by ${order === 'layers' ? "the file's layer order" : 'the stored order'}${k.text}`);
  }
  const pairs = [...pairOf.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([j, p]) => ({
      from: a[p.i].name, to: b[j].name, shape: b[j].shape, confidence: p.confidence, reason: p.reason,
      ambiguous: p.rivals.length > 0, alternatives: p.rivals.map(([x, y]) => ({ from: a[x].name, to: b[y].name })),
    }));
  // Unmatched foreign tensors are listed in the order used, which is the file's layer order when it has one.
  return new MappingProposal(pairs, a.filter((_, i) => !usedA.has(i)), b.filter((_, j) => !pairOf.has(j)), byKey, order);
}
