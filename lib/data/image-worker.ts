/** The worker thread of an image loader: loads the user's modules, rebuilds the transform, then reads batches it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { fromJSON, Transform, TransformSpec } from '../transforms/transform';
import type { DecodeOptions } from './image-decode';
import { Item, readBatch, transferList } from './image-sample';
import type { RngLock } from './seeded-apply';

/** What the main thread gives each worker at start. */
export interface ImageWorkerData {
  modules: string[];
  transform: TransformSpec | null;
  decode: DecodeOptions;
  lock: RngLock;
}

interface Task {
  id: number;
  items: Item[];
  epoch: number;
  seed: number;
  pack: boolean;
}

function start(): void {
  const port = parentPort!;
  const data = workerData as ImageWorkerData;
  let transform: Transform | undefined;
  try {
    // the whole library first: tg.transforms' own classes register themselves as their modules load
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../index');
    // then the modules that register custom transforms, before the transform is rebuilt from its spec
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const m of data.modules) require(m);
    transform = data.transform ? fromJSON(data.transform) : undefined;
  } catch (e) {
    port.postMessage({ initError: (e as Error)?.message ?? String(e) });
    return;
  }
  port.on('message', (task: Task) => {
    // batches are read concurrently (decoding on libvips threads); each example's draws depend on its seed alone
    readBatch(task.items, { decode: data.decode, epoch: task.epoch, seed: task.seed, lock: data.lock, pack: task.pack, transform }).then(
      (result) => port.postMessage({ id: task.id, result }, transferList(result)),
      (e: unknown) => port.postMessage({ id: task.id, error: (e as Error)?.message ?? String(e) }),
    );
  });
  port.postMessage({ ready: true });
}

start();
