/**
 * tg.zoo: a catalog of one's own models on disk (weights, structure, card, lineage), safe under concurrent writers.
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Zoo } from './catalog';
import { ioError } from '../io/atomic';

export { Zoo } from './catalog';
export type { AddOptions, FindQuery, ZooEntry } from './catalog';
export type { ModelCard, EntryRef } from './card';
export { parseRef } from './card';

/** The catalog directory used when none is given: `$TORCHGRAFT_ZOO`, else `~/.torchgraft/zoo`. */
export function defaultDir(): string {
  return process.env.TORCHGRAFT_ZOO || path.join(os.homedir(), '.torchgraft', 'zoo');
}

/**
 * Opens (creating it when needed) the model catalog in `dir`.
 * @throws TypeError for a dir that is not a non-empty string; TorchError `ERR_IO` when it cannot be created.
 * @example const zoo = await tg.zoo.open(); await zoo.add(net, { name: 'digits-0-4', task: 'classification' });
 */
export async function open(dir: string = defaultDir()): Promise<Zoo> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('zoo.open(): dir must be a non-empty string');
  const abs = path.resolve(dir);
  await fs.mkdir(path.join(abs, 'entries'), { recursive: true }).catch((e) => Promise.reject(ioError(abs, e)));
  return new Zoo(abs);
}
