/**
 * Walks of an unpickled object graph that stay linear when the pickle shares objects (memo GETs): each container is
 * measured once by identity, a cycle is refused with a coded error, and the size the graph would have once expanded
 * into a tree (names, JSON metadata) is bounded before anything expands it.
 */
import { TorchError } from '../errors';
import { PyDict, PySet, ScriptObject, TensorRef } from './pickle';

/** Containers nest at most this deep (a state dict nests a handful of levels). */
export const MAX_DEPTH = 100;

/** The values a container holds, keys of dicts included (tuple keys are expanded into names too). */
function children(v: unknown): unknown[] | undefined {
  if (v instanceof PyDict) {
    const out: unknown[] = [];
    for (const [k, x] of v.map) {
      if (typeof k === 'object' && k !== null) out.push(k);
      out.push(x);
    }
    return out;
  }
  if (v instanceof PySet) return v.items;
  if (v instanceof ScriptObject) return v.state === undefined ? [] : [v.state];
  if (Array.isArray(v)) return v;
  return undefined;
}

/** What one leaf costs once expanded: strings and bytes by their length, everything else one unit. */
function leafCost(v: unknown): number {
  if (typeof v === 'string') return 1 + v.length;
  if (v instanceof Uint8Array) return 1 + Math.ceil(v.length * 4 / 3);
  return 1;
}

/** Memoised facts about one unpickled graph; one instance per loaded file. */
export class PickleGraph {
  readonly #size = new Map<object, number>();
  readonly #holds = new Map<object, boolean>();
  readonly #open = new Set<object>();

  /**
   * @param file names the file in errors.
   * @param maxExpanded the largest expanded size accepted (in leaves plus string bytes), proportional to the pickle.
   */
  constructor(
    readonly file: string,
    readonly maxExpanded: number,
  ) {}

  #fail(problem: string, code: string): never {
    throw new TorchError(`io: '${this.file}': ${problem}`, { code });
  }

  /**
   * Checks the whole graph once: no cycle, no nesting deeper than MAX_DEPTH, and an expanded size within bounds.
   * @throws TorchError ERR_PICKLE_CYCLE for a container that refers to itself, ERR_PICKLE_LIMIT for depth or size.
   */
  check(root: unknown): void {
    const n = this.#measure(root, 0);
    if (n > this.maxExpanded)
      this.#fail(`the pickle's shared references expand to more than ${this.maxExpanded} values and string bytes (a file may not expand beyond a multiple of its size)`, 'ERR_PICKLE_LIMIT');
  }

  // Expanded size, capped just above the bound so that sums never grow without limit.
  #measure(v: unknown, depth: number): number {
    const kids = children(v);
    if (!kids) return leafCost(v);
    const o = v as object;
    const known = this.#size.get(o);
    if (known !== undefined) return known;
    if (this.#open.has(o)) this.#fail('a container refers to itself (a cycle), which a state dict cannot hold', 'ERR_PICKLE_CYCLE');
    if (depth >= MAX_DEPTH) this.#fail(`containers nest deeper than ${MAX_DEPTH} levels`, 'ERR_PICKLE_LIMIT');
    this.#open.add(o);
    let total = 1;
    for (const k of kids) total = Math.min(total + this.#measure(k, depth + 1), this.maxExpanded + 1);
    this.#open.delete(o);
    this.#size.set(o, total);
    return total;
  }

  /** Whether a value holds a tensor anywhere inside; memoised, so shared containers are searched once. */
  holdsTensor(v: unknown): boolean {
    if (v instanceof TensorRef) return true;
    const kids = v instanceof PyDict ? [...v.map.values()] : Array.isArray(v) ? v : undefined;
    if (!kids) return false;
    const o = v as object;
    const known = this.#holds.get(o);
    if (known !== undefined) return known;
    // A cycle was refused by check(); marking before the walk keeps this safe even without it.
    this.#holds.set(o, false);
    const found = kids.some((x) => this.holdsTensor(x));
    this.#holds.set(o, found);
    return found;
  }
}
