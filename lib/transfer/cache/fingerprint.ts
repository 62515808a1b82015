/**
 * What produced a feature cache: the frozen layers' weights and buffers, their structure, the cut and the
 * dataset. Each part is a sha256 hex digest, so a change is named, not just detected. Content is hashed when a
 * cache is built or a disk cache reopened; within the process the stamps of stamp.ts stand in for the hashes.
 */
import { createHash, Hash } from 'node:crypto';
import { defaultCollate } from '../../data/collate';
import type { Dataset } from '../../data/dataset';
import { collateOwned } from '../../data/iterable-dataset';
import { TensorDataset } from '../../data/tensor-dataset';
import type { Module } from '../../nn/module';
import { tidy } from '../../memory';
import type { Tensor } from '../../tensor';

/** The parts of a cache's fingerprint; `weights` has one digest per layer below the cut. */
export interface Fingerprint {
  /** Layer name -> sha256 over the exact bytes (names, dtypes, shapes, values) of its parameters and buffers. */
  weights: Record<string, string>;
  /** sha256 over every module's path, class name and options (extraRepr) below the cut, and which parameters are frozen. */
  structure: string;
  /** The name and position of the topmost cached layer. */
  cut: string;
  /** The dataset's key (`dataset.cacheKey`) or its length plus a sha256 of its content. */
  dataset: string;
}

/**
 * A dataset may name its own identity (a file path and version, say) to spare a content hash. A TensorDataset needs
 * none (its tensors' versions tell whether it changed); any other dataset without a key is read in full and hashed
 * at every staleness check (every fit with the cache), since nothing else tells whether what it gives changed.
 */
export interface KeyedDataset extends Dataset {
  readonly cacheKey?: string;
}

function hashTensor(h: Hash, name: string, t: Tensor): void {
  h.update(`${name}|${t.dtype}|${t.shape.join(',')}|`);
  const bytes = t.dataSync();
  h.update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** A layer's parameters then buffers, with their names: what its weight digest covers, in that order. */
export function layerTensors(m: Module): [string, Tensor][] {
  return [...m.namedParameters(), ...m.namedBuffers()];
}

/** sha256 over the names, dtypes, shapes and exact bytes of a layer's tensors (see layerTensors). */
export function layerDigest(tensors: [string, Tensor][]): string {
  const h = createHash('sha256');
  for (const [n, t] of tensors) hashTensor(h, n, t);
  return h.digest('hex');
}

/** Per-layer weight digests of the layers below the cut (inclusive). */
export function weightDigests(layers: [string, Module][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, m] of layers) out[name] = layerDigest(layerTensors(m));
  return out;
}

/** A digest of the layers' structure: module paths, classes, options, and parameters' frozen flags. */
export function structureDigest(layers: [string, Module][]): string {
  const h = createHash('sha256');
  for (const [name, m] of layers) {
    for (const [path, sub] of m.namedModules(name)) h.update(`${path}:${sub.constructor.name}(${sub.extraRepr()})\n`);
    for (const [n, p] of m.namedParameters(name)) h.update(`${n}:${p.requiresGrad ? 'trainable' : 'frozen'}\n`);
  }
  return h.digest('hex');
}

/**
 * The dataset's identity: its `cacheKey` when it gives one; for a TensorDataset a sha256 of its tensors' bytes;
 * otherwise a sha256 of every batch it gives, read in order (one pass over the data, without the model).
 */
export function datasetDigest(ds: KeyedDataset, batchSize: number): string {
  if (typeof ds.cacheKey === 'string') return `key:${ds.cacheKey}`;
  const h = createHash('sha256');
  h.update(`n=${ds.length}|`);
  if (ds instanceof TensorDataset) ds.tensors.forEach((t, k) => hashTensor(h, `f${k}`, t));
  else
    for (let start = 0; start < ds.length; start += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, ds.length - start) }, (_, i) => start + i);
      tidy(() => readBatch(ds, idx).forEach((t, k) => hashTensor(h, `f${k}`, t)));
    }
  return `n=${ds.length}:${h.digest('hex')}`;
}

/** The batch at `indices`: getBatch when the dataset has it, else its items stacked. */
export function readBatch(ds: Dataset, indices: number[]): Tensor[] {
  if (ds.getBatch) return ds.getBatch(indices);
  return tidy(() => collateOwned(defaultCollate, indices.map((i) => ds.getItem(i))));
}

/** What differs between two fingerprints, in words (empty when they match). */
export function describeChanges(was: Fingerprint, now: Fingerprint): string[] {
  const out: string[] = [];
  if (was.cut !== now.cut) out.push(`the cut point (was ${was.cut}, now ${now.cut})`);
  if (was.structure !== now.structure) out.push('the structure below the cut (layers, their options, or which parameters are frozen)');
  const changed = Object.keys({ ...was.weights, ...now.weights }).filter((k) => was.weights[k] !== now.weights[k]);
  if (changed.length) out.push(`the weights or buffers of ${changed.map((k) => `'${k}'`).join(', ')}`);
  if (was.dataset !== now.dataset) out.push('the dataset (another length, content or key)');
  return out;
}
