/**
 * Training checkpoints that resume exactly: model weights, optimizer and scheduler state, epoch, random generator
 * states and user data in one safetensors file, written atomically.
 */
import { getCudaRngStates, getRngState, setCudaRngStates, setRngState } from '../creation';
import { deviceCount } from '../cuda';
import { buildInfo } from '../info';
import { TorchError } from '../errors';
import { Tensor } from '../tensor';
import { loadSafetensors, saveSafetensors } from './safetensors';
import { decodeValue, encodeValue } from './checkpoint-json';

/** Anything with PyTorch-style state dicts: a tg.nn.Module, or a hand-written model. */
export interface CheckpointModel {
  stateDict(): Record<string, Tensor>;
  loadStateDict(stateDict: Record<string, Tensor>, options?: { strict?: boolean }): unknown;
  /** Named collections of the model, saved when they can be written as JSON (`toJSON`) and restored with `loadJSON`. */
  collections?: { toJSON?(): unknown; loadJSON?(json: unknown): void };
}

/** A tg.optim optimizer or a scheduler: state as a value with tensors and numbers, and back. */
export interface CheckpointStateful {
  stateDict(): unknown;
  loadStateDict(stateDict: unknown): void;
}

/** A tg.data.DataLoader: its shuffling seed and the epoch its next iteration will be. */
export interface CheckpointLoader {
  readonly seed: number;
  readonly epoch: number;
  setEpoch(epoch: number): void;
}

/** What `saveCheckpoint` writes. */
export interface CheckpointParts {
  model: CheckpointModel;
  optimizer?: CheckpointStateful;
  scheduler?: CheckpointStateful;
  /** Saves the loader's seed and next epoch, so the resumed run shuffles as the stopped one would have. */
  loader?: CheckpointLoader;
  /** The epoch reached (returned by loadCheckpoint). */
  epoch?: number;
  /** Anything else to resume with: plain objects, arrays, numbers, strings, booleans, null and tensors. */
  extra?: unknown;
}

/** Where `loadCheckpoint` restores to; each part present is restored, the others are left alone. */
export interface CheckpointTargets {
  model?: CheckpointModel;
  optimizer?: CheckpointStateful;
  scheduler?: CheckpointStateful;
  loader?: CheckpointLoader;
  /** Missing or unexpected model keys are errors (default true). */
  strict?: boolean;
  /** Restore the CPU and CUDA random generators (default true): needed for the same dropout masks and draws. */
  restoreRng?: boolean;
}

/** What `loadCheckpoint` returns besides restoring its targets. */
export interface CheckpointInfo {
  epoch?: number;
  /** `extra` as saved; its tensors are new and owned by the caller. */
  extra?: unknown;
  /** The model's collections as saved (also handed to `model.collections.loadJSON` when it exists). */
  collections?: unknown;
  /** The LibTorch version that wrote the file. */
  torchVersion: string;
  /** CUDA generator states in the file and how many were restored (one per device present). */
  cudaRngStates: { saved: number; restored: number };
}

const KEY = 'torchgraft.checkpoint';
const VERSION = 1;

function checkParts(parts: CheckpointParts): void {
  if (parts === null || typeof parts !== 'object') throw new TypeError('saveCheckpoint(path, { model, optimizer, ... }): expected an object');
  const { model } = parts;
  if (!model || typeof model.stateDict !== 'function') throw new TypeError('saveCheckpoint(): model must have stateDict() (a tg.nn.Module)');
  for (const k of ['optimizer', 'scheduler'] as const) {
    const p = parts[k];
    if (p !== undefined && (p === null || typeof p.stateDict !== 'function')) throw new TypeError(`saveCheckpoint(): ${k} must have stateDict()`);
  }
  if (parts.epoch !== undefined && !Number.isInteger(parts.epoch)) throw new TypeError(`saveCheckpoint(): epoch must be an integer, got ${String(parts.epoch)}`);
}

/**
 * Saves everything a run needs to resume exactly (bitwise on CPU): the model's state dict, the optimizer's state
 * (by parameter name) and the scheduler's, the epoch, the CPU and CUDA random generator states, the loader's
 * position, the model's collections and `extra`. One safetensors file (tensors, plus JSON in its metadata), written
 * to a temporary file and renamed: a process killed meanwhile leaves the previous checkpoint intact.
 * The tensors are read off the JavaScript thread: await this before the next optimizer step.
 * @param file destination (any extension: `run.ckpt`, `run.safetensors`).
 * @throws TypeError for a part of the wrong shape or an `extra` value a checkpoint cannot hold; TorchError `ERR_IO`.
 * @example await tg.io.saveCheckpoint('run.ckpt', { model: net, optimizer: opt, scheduler, loader, epoch });
 */
export async function saveCheckpoint(file: string, parts: CheckpointParts): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new TypeError('saveCheckpoint(): path must be a non-empty string');
  checkParts(parts);
  const entries: [string, Tensor][] = [];
  const owned: Tensor[] = []; // made here (copies, views, states): released after writing; tensors in `extra` are the caller's
  try {
    const sink = (prefix: string, own: boolean) => ({
      add(t: Tensor): string {
        const name = `${prefix}/${entries.length}`;
        entries.push([name, t]);
        if (own) owned.push(t);
        return name;
      },
    });
    const modelSd = parts.model.stateDict();
    const modelNames = Object.keys(modelSd);
    for (const n of modelNames) {
      entries.push([`model/${n}`, modelSd[n]]);
      owned.push(modelSd[n]);
    }
    const cpuRng = getRngState();
    owned.push(cpuRng);
    entries.push(['rng/cpu', cpuRng]);
    const cudaRng = getCudaRngStates();
    cudaRng.forEach((t, i) => {
      owned.push(t);
      entries.push([`rng/cuda/${i}`, t]);
    });
    const json = {
      version: VERSION,
      torchVersion: buildInfo().torchVersion,
      epoch: parts.epoch,
      model: modelNames,
      optimizer: parts.optimizer ? encodeValue(parts.optimizer.stateDict(), sink('optimizer', true), 'optimizer') : undefined,
      scheduler: parts.scheduler ? encodeValue(parts.scheduler.stateDict(), sink('scheduler', true), 'scheduler') : undefined,
      loader: parts.loader ? { seed: parts.loader.seed, epoch: parts.loader.epoch } : undefined,
      collections: encodeValue(parts.model.collections?.toJSON?.() ?? null, sink('collections', false), 'collections'),
      cudaRng: cudaRng.length,
      extra: encodeValue(parts.extra ?? null, sink('extra', false), 'extra'),
    };
    await saveSafetensors(entries, file, { format: 'torchgraft.checkpoint', [KEY]: JSON.stringify(json) });
  } finally {
    for (const t of owned) t.dispose();
  }
}

function fail(file: string, problem: string, cause?: unknown): TorchError {
  return Object.assign(new TorchError(`loadCheckpoint: '${file}': ${problem}`, { code: 'ERR_CHECKPOINT', cause }), { path: file });
}

/**
 * Restores a checkpoint written by `saveCheckpoint` into the given targets: model weights (in place), optimizer and
 * scheduler state, the loader's epoch (its seed must match), the model's collections and, unless `restoreRng` is
 * false, the random generators. Then continue training from the returned epoch.
 * @returns the epoch, `extra`, the collections as saved, and which generator states were restored.
 * @throws TorchError naming the file: the safetensors reader's errors for a damaged file, `ERR_CHECKPOINT` for a file
 *   that is not a checkpoint, lacks a part a target asks for, or was made with another loader seed; the model's and
 *   optimizer's own errors when the state does not fit them (nothing of that part is changed then).
 * @example const { epoch } = await tg.io.loadCheckpoint('run.ckpt', { model: net, optimizer: opt, scheduler, loader });
 */
export async function loadCheckpoint(file: string, targets: CheckpointTargets = {}): Promise<CheckpointInfo> {
  if (typeof file !== 'string' || file === '') throw new TypeError('loadCheckpoint(): path must be a non-empty string');
  if (targets === null || typeof targets !== 'object') throw new TypeError('loadCheckpoint(path, { model, optimizer, ... }): expected an object');
  const loaded = await loadSafetensors(file);
  const tensors = loaded.tensors;
  const handedOut = new Set<Tensor>();
  try {
    const text = loaded.metadata[KEY];
    if (text === undefined) throw fail(file, `a safetensors file, but not a torchgraft checkpoint (no '${KEY}' metadata)`);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON, checked field by field below
    let ck: any;
    try {
      ck = JSON.parse(text);
    } catch (e) {
      throw fail(file, `its '${KEY}' metadata is not valid JSON`, e);
    }
    if (ck === null || typeof ck !== 'object' || typeof ck.version !== 'number') throw fail(file, `its '${KEY}' metadata is not a checkpoint description`);
    if (ck.version > VERSION) throw fail(file, `written by a newer torchgraft (checkpoint version ${ck.version}; this one reads ${VERSION})`);
    const tensor = (name: string): Tensor => {
      const t = Object.prototype.hasOwnProperty.call(tensors, name) ? tensors[name] : undefined;
      if (!t) throw fail(file, `the tensor '${name}' that its description refers to is missing`);
      return t;
    };
    const want = (part: string) => {
      if (ck[part] === undefined || ck[part] === null) throw fail(file, `it holds no ${part} state, but a ${part} was given to restore`);
      return decodeValue(ck[part], tensor);
    };
    const { model, optimizer, scheduler, loader } = targets;
    if (loader && ck.loader) {
      if (ck.loader.seed !== loader.seed)
        throw fail(file, `the loader's seed is ${loader.seed}, the checkpoint's ${ck.loader.seed}: the resumed run would shuffle differently (create the DataLoader with { seed: ${ck.loader.seed} })`);
    } else if (loader) want('loader');
    if (model) {
      const names: string[] = Array.isArray(ck.model) ? ck.model : [];
      const sd: Record<string, Tensor> = {};
      for (const n of names) Object.defineProperty(sd, n, { value: tensor(`model/${n}`), enumerable: true, writable: true, configurable: true });
      model.loadStateDict(sd, { strict: targets.strict ?? true });
    }
    if (optimizer) optimizer.loadStateDict(want('optimizer'));
    if (scheduler) scheduler.loadStateDict(want('scheduler'));
    if (loader) loader.setEpoch(ck.loader.epoch);
    // Tensors in collections and extra go to the caller; the rest of the file's tensors are released below.
    const handOut = (name: string) => {
      const t = tensor(name);
      handedOut.add(t);
      return t;
    };
    const collections = ck.collections === null || ck.collections === undefined ? undefined : decodeValue(ck.collections, handOut);
    if (collections !== undefined) model?.collections?.loadJSON?.(collections);
    const cudaSaved = Number(ck.cudaRng) || 0;
    let cudaRestored = 0;
    if (targets.restoreRng ?? true) {
      setRngState(tensor('rng/cpu'));
      const states = Array.from({ length: cudaSaved }, (_, i) => tensor(`rng/cuda/${i}`));
      setCudaRngStates(states);
      cudaRestored = Math.min(states.length, deviceCount());
    }
    const extra = ck.extra === null || ck.extra === undefined ? undefined : decodeValue(ck.extra, handOut);
    return { epoch: ck.epoch, extra, collections, torchVersion: String(ck.torchVersion), cudaRngStates: { saved: cudaSaved, restored: cudaRestored } };
  } finally {
    for (const t of Object.values(tensors)) if (!handedOut.has(t)) t.dispose();
  }
}
