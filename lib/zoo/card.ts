/** The model card of a zoo entry (card.json) and `name@version` references. */
import { TorchError } from '../errors';

/** What a zoo entry says about itself: stored as card.json beside its weights. */
export interface ModelCard {
  /** Entry name (letters, digits, `.`, `_`, `-`). */
  name: string;
  /** Entry version: given, or the next integer after the highest numeric version of that name. */
  version: string;
  /** What the model does, e.g. `'classification'`. */
  task?: string;
  /** Input shape without the batch dimension, e.g. `[784]`. */
  inputShape?: number[];
  /** Class names or count. */
  classes?: string[] | number;
  /** Evaluation results, e.g. `{ accuracy: 0.97 }`. */
  metrics?: Record<string, number>;
  /** Free-form tags for `find({ tag })`. */
  tags?: string[];
  /** The entry this one was derived from (`name@version`): its lineage. */
  parent?: string;
  /** ISO time of the add. */
  created: string;
  /** Format of the stored weights (always safetensors) and, for imports, of the source file. */
  format: 'safetensors';
  sourceFormat?: string;
  source?: string;
  /** sha256 (hex) of weights.safetensors, checked on every load. */
  sha256: string;
  /** Number of tensors and of scalar values in them. */
  tensorCount: number;
  parameterCount: number;
  /** Class name of the stored model (when added from a module). */
  modelClass?: string;
  /** Collections of the model (`{ name: [paths] }`), also in the weights' metadata. */
  collections?: Record<string, string[]>;
  /** String metadata of the weights file. */
  metadata?: Record<string, string>;
}

/** A parsed `name[@version]`. */
export interface EntryRef {
  name: string;
  version?: string;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Checks one name or version part: it becomes a directory name, so no separators or dot-dot. */
export function checkPart(value: unknown, what: string): string {
  if (typeof value !== 'string' || !PART.test(value) || value.includes('..') || value.includes('@'))
    throw new TypeError(`zoo: ${what} must be letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(value)}`);
  return value;
}

/** Parses `name` or `name@version`. */
export function parseRef(ref: unknown): EntryRef {
  if (typeof ref !== 'string' || ref === '') throw new TypeError(`zoo: expected 'name' or 'name@version', got ${JSON.stringify(ref)}`);
  const at = ref.lastIndexOf('@');
  if (at < 0) return { name: checkPart(ref, 'the name') };
  return { name: checkPart(ref.slice(0, at), 'the name'), version: checkPart(ref.slice(at + 1), 'the version') };
}

/** Orders versions: numeric ones numerically, then the rest by string. */
export function compareVersions(a: string, b: string): number {
  const na = /^\d+$/.test(a), nb = /^\d+$/.test(b);
  if (na && nb) return Number(a) - Number(b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `ERR_ZOO_NOT_FOUND` error for a reference. */
export function notFound(ref: string, dir: string): TorchError {
  return new TorchError(`zoo: no entry '${ref}' in ${dir}`, { code: 'ERR_ZOO_NOT_FOUND' });
}
