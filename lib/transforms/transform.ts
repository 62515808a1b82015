/** The contract every image transform keeps, and the registry that rebuilds transforms inside decoding workers. */
import type { Tensor } from '../tensor';

/** A decoded image: `height * width * channels` bytes in row-major HWC order (RGB after `convert('RGB')`). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** What a transform becomes in JSON: its registered name and its constructor's options. */
export interface TransformSpec {
  name: string;
  [option: string]: unknown;
}

/**
 * An image transform: `apply` maps a tensor image (`[..., C, H, W]`) or a decoded image to the next stage;
 * `toJSON` gives a spec that `fromJSON` turns back into an equal transform (how transforms reach worker threads).
 * Random transforms draw from LibTorch's global generator (`tg.manualSeed`), in torchvision's order.
 */
export interface Transform {
  apply(input: Tensor | RawImage): Tensor | RawImage;
  toJSON(): TransformSpec;
}

type Factory = (spec: TransformSpec) => Transform;
const registry = new Map<string, Factory>();

/** Makes `fromJSON` know the transforms named `name` (custom transforms register in a module the workers load). */
export function registerTransform(name: string, factory: Factory): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('registerTransform: expected a non-empty name');
  if (typeof factory !== 'function') throw new TypeError(`registerTransform('${name}'): expected a factory function`);
  registry.set(name, factory);
}

/** Rebuilds a transform from its `toJSON()` spec. @throws TypeError for a spec without a registered name. */
export function fromJSON(spec: TransformSpec): Transform {
  if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') {
    throw new TypeError('transforms.fromJSON: expected a spec { name, ...options }');
  }
  const factory = registry.get(spec.name);
  if (!factory) {
    throw new TypeError(`transforms.fromJSON: no transform is registered as '${spec.name}' (known: ${[...registry.keys()].sort().join(', ') || 'none'})`);
  }
  return factory(spec);
}

/** Whether `x` keeps the Transform contract. */
export function isTransform(x: unknown): x is Transform {
  return x !== null && typeof x === 'object' && typeof (x as Transform).apply === 'function' && typeof (x as Transform).toJSON === 'function';
}
