/** What torchvision's MobileNets and EfficientNets share: weight initialisation, the input check and the chain (features, pool, flatten, classifier). */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import type { Module } from '../module';
import { Sequential } from '../sequential';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/batchnorm';
import { Linear } from '../layers/linear';
import { Flatten } from '../layers/shape';
import { checkNumber } from '../layers/common';
import * as init from '../init';

/**
 * torchvision's initialisation of these families: Kaiming normal (fan out) for convolutions with zero biases,
 * BatchNorm ones and zeros, and `linear` for each Linear.
 */
export function initMobileWeights(model: Module, linear: (m: Linear) => void): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d) {
      init.kaimingNormal_(m.weight, { mode: 'fanOut' });
      if (m.bias) init.zeros_(m.bias);
    } else if (m instanceof BatchNorm2d) {
      if (m.weight) init.ones_(m.weight);
      if (m.bias) init.zeros_(m.bias);
    } else if (m instanceof Linear) linear(m);
  }
}

/**
 * Checks a batch of images against the stem's input channels, read from the stem itself (not the constructor's
 * option): surgery may have adapted it (tg.transfer.adaptInputChannels).
 */
export function checkImages(x: unknown, features: Sequential, model: string): Tensor {
  if (!isTensor(x)) throw new TypeError(`${model}: expected a Tensor of images (N, C, H, W)`);
  // The stem is features.0.0 as built; after surgery it may be a bare Conv2d, or something else (then unchecked).
  const first = features.length ? features.at(0) : null;
  const stem = first instanceof Sequential && first.length ? first.at(0) : first;
  const c = stem instanceof Conv2d ? stem.inChannels : x.shape[1];
  if (x.ndim !== 4 || x.shape[1] !== c) throw new RangeError(`${model}: expected input of shape (N, ${c}, H, W), got [${x.shape.join(', ')}]`);
  return x;
}

/** Checks a width or depth multiplier: a finite number > 0. */
export function checkMultiplier(v: unknown, what: string, model: string): number {
  const n = checkNumber(v, what, model);
  if (n <= 0) throw new RangeError(`${model}: ${what} must be greater than 0, got ${n}`);
  return n;
}

/**
 * The chain a model applies when its forward is features → pool → flatten → classifier: its children with a
 * Flatten named 'flatten' after `after` (the pool), and `pool` inserted first as 'avgpool' when the pool is not a
 * child (MobileNetV2 pools functionally).
 */
export function poolFlattenChain(model: Module, after: string, pool?: Module): [string, Module][] {
  const kids = model.namedChildren();
  let i = kids.findIndex(([n]) => n === after);
  if (pool) kids.splice(++i, 0, ['avgpool', pool]);
  kids.splice(i + 1, 0, ['flatten', new Flatten()]);
  return kids;
}

/** The features of a features-pool-classifier model: `features`, then `pool`, flattened from dimension 1. */
export function pooledFeatures(features: Sequential, pool: (h: Tensor) => Tensor, x: Tensor, name: string): Tensor {
  const h = features.call(checkImages(x, features, name));
  const pooled = pool(h);
  if (h !== x) h.dispose();
  const flat = pooled.flatten(1);
  if (flat !== pooled) pooled.dispose();
  return flat;
}

/** The classifier applied to features, the features released. */
export function classify(classifier: Module, feats: Tensor): Tensor {
  const out = classifier.call(feats);
  if (out !== feats) feats.dispose();
  return out;
}
