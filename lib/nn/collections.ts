/**
 * Collections: named lists of the layers and tensors of a model that people reusing it will want (the
 * textbook's `tf.add_to_collection`), kept with the model and saved as string metadata beside its weights.
 */
import type { Module } from './module';
import type { Tensor } from '../tensor';
import { resolveEntry, describe } from './paths';
import { TorchError } from '../errors';

/** What a collection entry names: a submodule, a parameter or a buffer. */
export type CollectionItem = Module | Tensor;

/** The metadata key collections are saved under (its value is JSON: `{ name: [paths] }`). */
export const COLLECTIONS_KEY = 'torchgraft.collections';

/**
 * The collections of one model (`model.collections`): each a name and an ordered list of dotted paths to
 * submodules, parameters or buffers. Paths are checked when set and resolved when read, so `get` follows
 * surgery (a replaced layer is found under its path) and says which path no longer exists.
 * @example
 * net.collections.set('features', ['hidden1', 'hidden2', 'hidden3']);
 * net.collections.get('features');   // [Linear, Linear, Linear]
 */
export class Collections {
  readonly #owner: Module;
  readonly #map = new Map<string, string[]>();

  /** @internal use `model.collections`. */
  constructor(owner: Module) {
    this.#owner = owner;
  }

  /** Whether `path` names a submodule, parameter or buffer of the model. */
  exists(path: string): boolean {
    return typeof path === 'string' && resolveEntry(this.#owner, path) !== undefined;
  }

  /**
   * Names a list of paths (replacing a collection of the same name). Returns this.
   * @throws TypeError for a bad name or non-string paths; Error listing every path the model does not have.
   */
  set(name: string, paths: string | readonly string[]): this {
    if (typeof name !== 'string' || name === '') throw new TypeError(`collections.set(): the name must be a non-empty string, got ${describe(name)}`);
    const list = typeof paths === 'string' ? [paths] : paths;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
      throw new TypeError(`collections.set('${name}'): paths must be a dotted path or an array of them, got ${describe(paths)}`);
    }
    const missing = list.filter((p) => !this.exists(p));
    if (missing.length) {
      throw new TorchError(`collections.set('${name}'): no submodule, parameter or buffer ${missing.map((p) => `'${p}'`).join(', ')} in ${this.#owner.constructor.name}`, { code: 'ERR_UNKNOWN_MODULE' });
    }
    this.#map.set(name, [...list]);
    return this;
  }

  /** Adds paths to a collection (creating it), skipping those already in it; returns this. */
  add(name: string, paths: string | readonly string[]): this {
    const list = typeof paths === 'string' ? [paths] : paths;
    if (!Array.isArray(list)) throw new TypeError(`collections.add('${String(name)}'): paths must be a dotted path or an array of them, got ${describe(paths)}`);
    const current = this.#map.get(name) ?? [];
    return this.set(name, [...current, ...list.filter((p) => !current.includes(p))]);
  }

  /**
   * The modules and tensors a collection names, in order.
   * @throws TorchError `ERR_UNKNOWN_COLLECTION` for an unknown collection (listing those there are), `ERR_UNKNOWN_MODULE`
   *   for a path gone since (after surgery).
   */
  get(name: string): CollectionItem[] {
    return this.paths(name).map((p) => {
      const item = resolveEntry(this.#owner, p);
      if (item === undefined) throw new TorchError(`collections.get('${name}'): '${p}' no longer exists in the model`, { code: 'ERR_UNKNOWN_MODULE' });
      return item;
    });
  }

  /** The dotted paths of a collection, in order. @throws TorchError `ERR_UNKNOWN_COLLECTION` for an unknown collection. */
  paths(name: string): string[] {
    const paths = this.#map.get(name);
    if (!paths) throw new TorchError(`collections: no collection '${String(name)}'; collections: ${this.names().join(', ') || '(none)'}`, { code: 'ERR_UNKNOWN_COLLECTION' });
    return [...paths];
  }

  /** Whether a collection exists. */
  has(name: string): boolean {
    return this.#map.has(name);
  }

  /** Collection names, in the order they were first set. */
  names(): string[] {
    return [...this.#map.keys()];
  }

  /** Removes a collection; returns whether it existed. */
  delete(name: string): boolean {
    return this.#map.delete(name);
  }

  /** Removes every collection. */
  clear(): void {
    this.#map.clear();
  }

  /** `{ name: [paths] }`: what JSON.stringify writes. */
  toJSON(): Record<string, string[]> {
    return Object.fromEntries([...this.#map].map(([n, p]) => [n, [...p]]));
  }

  /**
   * Sets every collection of a `toJSON()` object (a JSON string too), after checking them all: nothing changes
   * when one is invalid. Existing collections of other names are kept. Returns this.
   */
  fromJSON(json: Record<string, readonly string[]> | string): this {
    const obj: unknown = typeof json === 'string' ? parseJSON(json) : json;
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TypeError(`collections.fromJSON(): expected { name: [paths] }, got ${describe(obj)}`);
    const entries = Object.entries(obj as Record<string, unknown>);
    const problems: string[] = [];
    for (const [n, paths] of entries) {
      if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) problems.push(`'${n}': expected an array of paths`);
      else for (const p of paths) if (!this.exists(p)) problems.push(`'${n}': no '${p}' in the model`);
    }
    if (problems.length) throw new TorchError(`collections.fromJSON(): ${problems.join('; ')}`, { code: 'ERR_COLLECTIONS' });
    for (const [n, paths] of entries) this.#map.set(n, [...(paths as string[])]);
    return this;
  }
}

function parseJSON(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new TypeError(`collections: the metadata is not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

const registry = new WeakMap<Module, Collections>();

/** The collections of a model (what `model.collections` returns), created empty on first use. */
export function collectionsOf(model: Module): Collections {
  let c = registry.get(model);
  if (!c) {
    c = new Collections(model);
    registry.set(model, c);
  }
  return c;
}

/**
 * The model's collections as string metadata for a weights file: `{ 'torchgraft.collections': '{"name":[paths]}' }`
 * (empty when it has none), ready for `tg.io.save(net.stateDict(), file, { metadata })`.
 */
export function collectionsMetadata(model: Module): Record<string, string> {
  const c = collectionsOf(model);
  return c.names().length ? { [COLLECTIONS_KEY]: JSON.stringify(c) } : {};
}

/** Options of restoreCollections. */
export interface RestoreCollectionsOptions {
  /** Skip collections naming paths the model lacks (after surgery) instead of throwing. Default false. */
  skipInvalid?: boolean;
}

/**
 * Sets the collections saved in a weights file's metadata on `model`. Metadata without the key restores nothing.
 * @returns the names restored and those skipped (with `skipInvalid`).
 * @throws TypeError for invalid JSON; Error naming the paths the model lacks (unless `skipInvalid`).
 */
export function restoreCollections(model: Module, metadata: Record<string, string> | undefined, options: RestoreCollectionsOptions = {}): { restored: string[]; skipped: string[] } {
  const raw = metadata?.[COLLECTIONS_KEY];
  if (raw === undefined) return { restored: [], skipped: [] };
  if (typeof raw !== 'string') throw new TypeError(`restoreCollections: metadata '${COLLECTIONS_KEY}' must be a JSON string`);
  const obj = parseJSON(raw);
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TypeError(`restoreCollections: '${COLLECTIONS_KEY}' must hold { name: [paths] }`);
  const c = collectionsOf(model);
  const restored: string[] = [];
  const skipped: string[] = [];
  const keep: Record<string, string[]> = {};
  for (const [n, paths] of Object.entries(obj as Record<string, unknown>)) {
    const ok = Array.isArray(paths) && paths.every((p) => typeof p === 'string' && c.exists(p));
    if (!ok && options.skipInvalid) skipped.push(n);
    else {
      keep[n] = paths as string[];
      restored.push(n);
    }
  }
  c.fromJSON(keep);
  return { restored, skipped };
}
