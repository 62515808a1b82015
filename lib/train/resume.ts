/**
 * fit's `resumeFrom`: finds the checkpoint (a ModelCheckpoint folder's latest, or a file), checks that it fits the
 * model, optimizer, scheduler and loader before changing anything, restores them with the random generators, and
 * says where the run goes on: the epoch after the checkpoint's, up to the interrupted fit call's last.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import { loadCheckpoint, type CheckpointModel, type CheckpointStateful } from '../io/checkpoint';
import { decodeValue } from '../io/checkpoint-json';
import { inspectSafetensors } from '../io/safetensors';
import type { DataLoader } from '../data/loader';
import type { Tensor } from '../tensor';
import type { Callback } from './callbacks';
import { History } from './history';
import { noteResumedRun } from './checkpoint-run';
import { LATEST, ModelCheckpoint, type FitResumeState, type LatestPointer } from './model-checkpoint';
import type { EpochLogs, StepOptimizer, Trainable } from './types';
import { checkKnownKeys } from '../known-keys';

/**
 * Where fit resumes from: a ModelCheckpoint folder (its `latest.json`) or one checkpoint file; as an object, with
 * what to do when the folder holds no checkpoint yet ('error', the default, or 'startFresh': train from the start,
 * so that one script both starts and resumes a run) and the scheduler to restore when no ModelCheckpoint callback
 * carries one.
 */
export type ResumeFrom = string | { path: string; ifMissing?: 'error' | 'startFresh'; scheduler?: CheckpointStateful };

/** Where the resumed run goes on. */
export interface Resumed {
  history: History;
  initialEpoch: number;
  endEpoch: number;
  /** The checkpoint file restored. */
  file: string;
}

const KEY = 'torchgraft.checkpoint';
const WHERE = 'fit (resumeFrom)';

function fail(problem: string, code = 'ERR_CHECKPOINT', cause?: unknown): TorchError {
  return new TorchError(`${WHERE}: ${problem}`, { code, cause });
}

function parseSpec(spec: unknown): { at: string; ifMissing: 'error' | 'startFresh'; scheduler?: CheckpointStateful } {
  if (typeof spec === 'string' && spec !== '') return { at: spec, ifMissing: 'error' };
  if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) {
    const s = spec as Record<string, unknown>;
    checkKnownKeys(s, ['path', 'ifMissing', 'scheduler'], WHERE);
    if (typeof s.path !== 'string' || s.path === '') throw new TypeError(`${WHERE}: path must be a non-empty string (a checkpoint folder or file)`);
    const ifMissing = s.ifMissing ?? 'error';
    if (ifMissing !== 'error' && ifMissing !== 'startFresh') throw new TypeError(`${WHERE}: ifMissing must be 'error' or 'startFresh', got ${String(ifMissing)}`);
    const scheduler = s.scheduler as CheckpointStateful | undefined;
    if (scheduler !== undefined && (scheduler === null || typeof scheduler.loadStateDict !== 'function')) throw new TypeError(`${WHERE}: scheduler must have loadStateDict() (a tg.optim scheduler)`);
    return { at: s.path, ifMissing, scheduler };
  }
  throw new TypeError(`${WHERE}: expected a checkpoint folder or file, or { path, ifMissing, scheduler }; got ${String(spec)}`);
}

/** The checkpoint file that `at` designates, or undefined when a folder (or the path) holds none yet. */
async function locate(at: string): Promise<string | undefined> {
  const st = await fs.stat(at).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw fail(`cannot read '${at}': ${e.message}`, 'ERR_IO', e);
  });
  if (!st) return undefined;
  if (!st.isDirectory()) return at;
  const pointer = path.join(at, LATEST);
  let text: string;
  try {
    text = await fs.readFile(pointer, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fail(`cannot read '${pointer}': ${(e as Error).message}`, 'ERR_IO', e);
  }
  let p: Partial<LatestPointer>;
  try {
    p = JSON.parse(text);
  } catch (e) {
    throw fail(`'${pointer}' is not valid JSON (a damaged pointer; name a checkpoint file in resumeFrom instead)`, 'ERR_CHECKPOINT', e);
  }
  if (p === null || typeof p !== 'object' || typeof p.file !== 'string' || p.file === '' || /[/\\]/.test(p.file) || p.file === '..')
    throw fail(`'${pointer}' does not name a checkpoint file of its folder`);
  const file = path.join(at, p.file);
  // A pointer to a file that is gone is damage, never a reason to start over.
  await fs.access(file).catch((e) => Promise.reject(fail(`'${pointer}' names '${p.file}', which cannot be read: ${(e as Error).message}`, 'ERR_CHECKPOINT', e)));
  return file;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Every difference between the model's state dict and the checkpoint's, one line each. */
function modelProblems(model: CheckpointModel, saved: Map<string, number[]>): string[] {
  const sd = model.stateDict() as Record<string, Tensor> | Map<string, Tensor>;
  const own = new Map<string, number[]>();
  const entries = sd instanceof Map ? [...sd] : Object.entries(sd);
  for (const [k, t] of entries) {
    own.set(k, [...t.shape]);
    t.dispose();
  }
  const missing = [...own.keys()].filter((k) => !saved.has(k));
  const unexpected = [...saved.keys()].filter((k) => !own.has(k));
  const misShaped = [...own].filter(([k, s]) => saved.has(k) && shapeText(saved.get(k)!) !== shapeText(s));
  const list = (xs: string[]) => (xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, … (${xs.length} in all)`);
  const out: string[] = [];
  if (missing.length) out.push(`model: missing from the checkpoint: ${list(missing)}`);
  if (unexpected.length) out.push(`model: in the checkpoint but not in the model: ${list(unexpected)}`);
  for (const [k, s] of misShaped) out.push(`model: '${k}' is ${shapeText(saved.get(k)!)} in the checkpoint, ${shapeText(s)} in the model`);
  return out;
}

/** The optimizer's groups as its stateDict() names them (its tensors released at once). */
function groupsOf(optimizer: CheckpointStateful): string[][] | undefined {
  const sd = optimizer.stateDict() as { state?: Record<string, Record<string, unknown>>; paramGroups?: { params?: string[] }[] };
  for (const ps of Object.values(sd?.state ?? {})) for (const v of Object.values(ps)) (v as Partial<Tensor>)?.dispose?.();
  return sd?.paramGroups?.map((g) => g.params ?? []);
}

function optimizerProblems(optimizer: CheckpointStateful, saved: unknown, savedKind: string | undefined): string[] {
  const out: string[] = [];
  const kind = (optimizer as object).constructor?.name;
  if (savedKind !== undefined && savedKind !== kind) out.push(`optimizer: the checkpoint holds a ${savedKind}'s state, the optimizer is a ${kind}`);
  const savedGroups = (saved as { paramGroups?: { params?: string[] }[] } | undefined)?.paramGroups?.map((g) => g.params ?? []);
  const groups = groupsOf(optimizer);
  if (!savedGroups || !groups) return out;
  if (savedGroups.length !== groups.length) {
    out.push(`optimizer: the checkpoint has ${savedGroups.length} parameter group(s), the optimizer ${groups.length}`);
    return out;
  }
  groups.forEach((names, i) => {
    const a = new Set(savedGroups[i]);
    const b = new Set(names);
    const missing = names.filter((n) => !a.has(n));
    const extra = savedGroups[i].filter((n) => !b.has(n));
    if (missing.length || extra.length)
      out.push(`optimizer: group ${i} differs` + (missing.length ? `; not in the checkpoint: ${missing.slice(0, 8).join(', ')}` : '') + (extra.length ? `; only in the checkpoint: ${extra.slice(0, 8).join(', ')}` : ''));
  });
  return out;
}

/**
 * Restores a run from `spec` for fit: model, optimizer, scheduler (a ModelCheckpoint's among `callbacks`, or the one
 * `spec` names), loader position and seed, random generators, history, and the ModelCheckpoints' best values.
 * @returns where to go on, or undefined when `ifMissing: 'startFresh'` and there is no checkpoint yet.
 * @throws TorchError `ERR_CHECKPOINT` when there is no checkpoint (and no startFresh) or it was not written by
 *   ModelCheckpoint; `ERR_CHECKPOINT_MISMATCH` listing in one message every way it does not fit (model names and
 *   shapes, optimizer kind and groups, scheduler, loader seed), before anything is changed; the safetensors
 *   reader's codes (`ERR_SAFETENSORS_TRUNCATED`, ...) for a damaged file. No file is ever modified.
 */
export async function resumeFit(
  spec: unknown,
  parts: { model: Trainable; optimizer: StepOptimizer; loader?: DataLoader; callbacks: Callback[]; history?: History; epochs: number; initialEpoch?: number },
): Promise<Resumed | undefined> {
  const { at, ifMissing, scheduler: given } = parseSpec(spec);
  if (parts.initialEpoch !== undefined) throw new TypeError(`${WHERE}: initialEpoch and resumeFrom cannot be given together (the checkpoint says where to go on)`);
  const file = await locate(at);
  if (file === undefined) {
    if (ifMissing === 'startFresh') return undefined;
    throw fail(`no checkpoint in '${at}' (no ${LATEST}; it is written by tg.train.ModelCheckpoint). To start from scratch when there is none yet, pass resumeFrom: { path, ifMissing: 'startFresh' }`);
  }
  const header = await inspectSafetensors(file);
  const text = header.metadata[KEY];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON, checked field by field below
  let ck: any;
  try {
    ck = text === undefined ? undefined : JSON.parse(text);
  } catch (e) {
    throw fail(`'${file}': its checkpoint description is not valid JSON`, 'ERR_CHECKPOINT', e);
  }
  const noTensors = (name: string): Tensor => {
    throw fail(`'${file}': unexpected tensor reference '${name}' in the fit state`);
  };
  const state = (ck?.extra ? (decodeValue(ck.extra, noTensors) as { fit?: FitResumeState }).fit : undefined) as FitResumeState | undefined;
  if (!ck || !state || !Number.isInteger(ck.epoch) || !Array.isArray(state.history?.epochs))
    throw fail(`'${file}' is not a checkpoint written by tg.train.ModelCheckpoint (restore it with tg.io.loadCheckpoint instead)`);

  const model = parts.model as unknown as CheckpointModel;
  const optimizer = parts.optimizer as unknown as CheckpointStateful;
  if (typeof model.stateDict !== 'function' || typeof model.loadStateDict !== 'function') throw new TypeError(`${WHERE}: the model must have stateDict() and loadStateDict() (a tg.nn.Module)`);
  if (typeof optimizer.stateDict !== 'function' || typeof optimizer.loadStateDict !== 'function') throw new TypeError(`${WHERE}: the optimizer must have stateDict() and loadStateDict() (a tg.optim optimizer)`);
  const checkpoints = parts.callbacks.filter((c): c is ModelCheckpoint => c instanceof ModelCheckpoint);
  const scheduler = given ?? checkpoints.find((c) => c.scheduler)?.scheduler;

  // Every difference, in one error, before anything changes.
  const saved = new Map<string, number[]>();
  const shapes = new Map(header.entries.map((e) => [e.name, e.shape]));
  // In the model's own order (the description's), not the file's.
  for (const n of Array.isArray(ck.model) ? (ck.model as string[]) : []) {
    const shape = shapes.get(`model/${n}`);
    if (!shape) throw fail(`'${file}': the tensor 'model/${n}' that its description refers to is missing`);
    saved.set(n, shape);
  }
  const problems = [...modelProblems(model, saved), ...optimizerProblems(optimizer, ck.optimizer, state.optimizerKind)];
  const schedulerKind = scheduler ? (scheduler as object).constructor?.name : undefined;
  if (state.schedulerKind && !scheduler) problems.push(`scheduler: the checkpoint holds a ${state.schedulerKind}'s state; give the scheduler to ModelCheckpoint({ scheduler }) or resumeFrom: { path, scheduler }`);
  else if (scheduler && !state.schedulerKind) problems.push(`scheduler: a ${schedulerKind} was given, the checkpoint holds no scheduler state`);
  else if (scheduler && state.schedulerKind !== schedulerKind) problems.push(`scheduler: the checkpoint holds a ${state.schedulerKind}'s state, the scheduler is a ${schedulerKind}`);
  if (ck.loader && parts.loader && ck.loader.seed !== parts.loader.seed)
    problems.push(`data: the loader's shuffling seed is ${parts.loader.seed}, the checkpoint's ${ck.loader.seed} (pass fit({ seed: ${ck.loader.seed} }) or create the DataLoader with it)`);
  else if (ck.loader && !parts.loader) problems.push('data: the checkpoint was written while training from a DataLoader (or a dataset), this fit has none: the order of the batches would differ');
  if (problems.length) throw fail(`'${file}' does not fit this run:\n  - ${problems.join('\n  - ')}`, 'ERR_CHECKPOINT_MISMATCH');

  await loadCheckpoint(file, { model, optimizer, scheduler, loader: ck.loader ? parts.loader : undefined });

  const history = parts.history ?? new History();
  history.epochs.length = 0;
  for (const e of state.history.epochs) history.push(e as EpochLogs);
  history.stopped = null;
  for (const c of checkpoints) {
    if (state.best.monitor !== undefined && c.monitor !== undefined && c.monitor !== state.best.monitor) continue;
    c.best = state.best.value;
    c.bestEpoch = state.best.epoch;
  }
  for (const c of checkpoints) if (path.dirname(path.resolve(file)) === c.dir) c.lastSaved = { file: path.basename(file), epoch: ck.epoch };
  const initialEpoch = ck.epoch + 1;
  noteResumedRun(parts.callbacks, state.runStart);
  return { history, initialEpoch, endEpoch: Math.max(initialEpoch, state.runStart + parts.epochs), file };
}
