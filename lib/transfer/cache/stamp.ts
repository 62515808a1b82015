/**
 * In-process stamps of what produced a feature cache: which tensor objects, at which LibTorch versions, the frozen
 * layers and a TensorDataset held when their content digests were taken. While a stamp matches, the part it covers
 * is proven unchanged in O(number of tensors), without reading a value; a part whose stamp differs is hashed again
 * (fingerprint.ts) to find out whether its content really changed and to name it.
 *
 * A tensor matches its stamp when it is the same JS object over the same TensorImpl and storage, at the same version
 * (LibTorch bumps it on every in-place change of the tensor or of any view sharing its storage: copy_, fill_, add_,
 * optimizer steps, state dict and checkpoint loads) with the same count of writes LibTorch does not version
 * (uncounted-writes.ts: batch_norm's running statistics, set_data). The object and TensorImpl tell apart two views
 * of one storage (one version counter); the storage address catches a set_data that no wrapper noted.
 * Not seen: bytes written into a tensor's memory behind LibTorch's back (no torchgraft API does; a native addon
 * could), and a TorchScript method updating statistics through batch_norm without a batch counter. A stamp holds
 * weak references only; it means nothing in another process (a disk cache is reopened by content).
 */
import type { NativeTensor } from '../../binding';
import type { Tensor } from '../../tensor';
import { uncountedWrites } from '../../uncounted-writes';

interface TensorStamp {
  ref: WeakRef<Tensor>;
  impl: number;
  storage: number;
  version: number;
  uncounted: number;
}

/** The stamp of an ordered list of named tensors (a layer's parameters and buffers, a dataset's fields). */
export interface TensorsStamp {
  /** The names and count, in order. */
  key: string;
  tensors: TensorStamp[];
}

function stampOne(t: Tensor): TensorStamp {
  const n = t as NativeTensor;
  return { ref: new WeakRef(t), impl: n._implId(), storage: n._storageId(), version: n._version(), uncounted: uncountedWrites(t) };
}

function sameOne(s: TensorStamp, t: Tensor): boolean {
  if (s.ref.deref() !== t || t.isDisposed) return false;
  const n = t as NativeTensor;
  return n._version() === s.version && uncountedWrites(t) === s.uncounted && n._implId() === s.impl && n._storageId() === s.storage;
}

const keyOf = (named: [string, Tensor][]): string => named.map(([n]) => n).join('\n');

/** Stamps `named` as it is now. */
export function stampTensors(named: [string, Tensor][]): TensorsStamp {
  return { key: keyOf(named), tensors: named.map(([, t]) => stampOne(t)) };
}

/** Whether `named` is, tensor for tensor, what `stamp` recorded (false without a stamp). */
export function matchesStamp(stamp: TensorsStamp | undefined, named: [string, Tensor][]): boolean {
  if (!stamp || stamp.tensors.length !== named.length || stamp.key !== keyOf(named)) return false;
  return named.every(([, t], i) => sameOne(stamp.tensors[i], t));
}

/** A cache's stamps: one per frozen layer, and the dataset's tensors when it is a TensorDataset without a key. */
export interface CacheStamp {
  layers: Map<string, TensorsStamp>;
  dataset?: TensorsStamp;
}
