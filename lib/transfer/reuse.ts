/** reuse: a new model from a pretrained model's lower layers, frozen as asked, with a new head on top. */
import { Module, isModule } from '../nn/module';
import { Sequential } from '../nn/sequential';
import type { NamePattern } from '../nn/pattern';
import { chainIndex, layerChain } from '../nn/chain';
import { copyModule } from './copy';
import { collectionsOf } from '../nn/collections';
import { describe } from '../nn/paths';
import { TorchError } from '../errors';

/** A new head: one module (named 'head'), modules named by their position, or an object of named modules. */
export type HeadSpec = Module | Module[] | Record<string, Module>;

/** Options of reuse. */
export interface ReuseOptions {
  /** The last pretrained top-level layer to keep (a name, or a position; negative counts from the end). Default: all. */
  upTo?: string | number;
  /**
   * What to freeze: `true` every reused layer, or a pattern over the new model's dotted names
   * of the reused layers (`/^hidden[12]\./`, `'hidden[12]'`); the head is never frozen here. Default: nothing.
   * With shared weights, freezing a reused layer freezes it in `pretrained` too (it is the same tensors).
   */
  freeze?: boolean | NamePattern;
  /** Layers appended after the reused ones. */
  head?: HeadSpec;
  /**
   * `false` (default): the new model holds the pretrained layer objects themselves, so weights are shared,
   * as reusing layers in a graph shares their variables. `true`: deep copies (new tensors, same values).
   */
  copy?: boolean;
}

// The names of the layers reuse appended as the head of each model it built (fineTune's default head).
const heads = new WeakMap<Module, string[]>();

/** The top-level names of the head `reuse` appended to `model`, or undefined for a model reuse did not build. */
export function reusedHead(model: Module): string[] | undefined {
  return heads.get(model)?.slice();
}

function headEntries(head: HeadSpec | undefined, start: number): [string, Module][] {
  if (head === undefined) return [];
  if (isModule(head)) return [['head', head]];
  if (Array.isArray(head)) {
    return head.map((m, i) => {
      if (!isModule(m)) throw new TypeError(`reuse: head[${i}] must be a tg.nn.Module, got ${describe(m)}`);
      return [String(start + i), m];
    });
  }
  if (head !== null && typeof head === 'object' && Object.getPrototypeOf(head) === Object.prototype) {
    return Object.entries(head).map(([n, m]) => {
      if (!isModule(m)) throw new TypeError(`reuse: head '${n}' must be a tg.nn.Module, got ${describe(m)}`);
      return [n, m];
    });
  }
  throw new TypeError(`reuse: head must be a module, an array of modules or an object of named modules, got ${describe(head)}`);
}

/**
 * Builds a Sequential from `pretrained`'s top-level layers up to and including `upTo` (see `layerChain` for
 * which layers a non-Sequential model has: a ResNet's include the flatten its forward does), keeping their
 * names, so the new model's dotted names match the checkpoint's. Then freezes as asked and appends `head`.
 * Collections of the pretrained model whose every path still exists are carried over.
 * @throws Error when `upTo` is not a top-level layer (the message lists them) or a head name is taken.
 * @example
 * const model = tg.transfer.reuse(pretrained, { upTo: 'hidden3', freeze: /^hidden[12]\./,
 *   head: { hidden4: new tg.nn.Linear(50, 20), act4: new tg.nn.ELU(), outputs: new tg.nn.Linear(20, 5) } });
 */
export function reuse(pretrained: Module, options: ReuseOptions = {}): Sequential {
  if (!isModule(pretrained)) throw new TypeError(`reuse: expected a pretrained tg.nn.Module, got ${describe(pretrained)}`);
  if (options === null || typeof options !== 'object') throw new TypeError('reuse: options must be an object');
  const chain = layerChain(pretrained, 'reuse');
  const kept = options.upTo === undefined ? chain : chain.slice(0, chainIndex(chain, options.upTo, `reuse({ upTo: ${JSON.stringify(options.upTo)} })`) + 1);
  const model = new Sequential();
  const copies = new Map<Module, Module>();
  for (const [n, m] of kept) {
    // A layer listed twice (a shared activation) stays one object in the copy too.
    let layer = m;
    if (options.copy) {
      layer = copies.get(m) ?? copyModule(m);
      copies.set(m, layer);
    }
    model.registerModule(n, layer);
  }
  if (options.freeze === true) model.freeze();
  else if (options.freeze !== undefined && options.freeze !== false) model.freeze(options.freeze);

  const head = headEntries(options.head, kept.length);
  for (const [n, m] of head) {
    if (model._modules.has(n)) throw new TorchError(`reuse: head layer '${n}' has the name of a reused layer; reused: ${kept.map(([k]) => k).join(', ')}`, { code: 'ERR_MODULE_EDIT' });
    model.registerModule(n, m);
  }
  heads.set(model, head.map(([n]) => n));

  const source = collectionsOf(pretrained);
  const target = collectionsOf(model);
  for (const name of source.names()) {
    const paths = source.paths(name);
    if (paths.every((p) => target.exists(p))) target.set(name, paths);
  }
  return model;
}
