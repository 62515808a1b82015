/** The default process group: rendezvous through a TCPStore and a c10d Gloo group, as torch.distributed's. */
import { binding } from '../native';
import { TorchError } from '../errors';
import { checkKnownKeys } from '../known-keys';

/** Options of init; each defaults to the environment variable torchrun sets (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). */
export interface InitOptions {
  /** 'gloo' (CPU tensors; the default). */
  backend?: 'gloo';
  /** This process's rank in [0, worldSize). Default: $RANK. */
  rank?: number;
  /** The number of processes. Default: $WORLD_SIZE. */
  worldSize?: number;
  /** 'tcp://host:port', as torch.distributed's init_method. Default: tcp://$MASTER_ADDR:$MASTER_PORT. */
  initMethod?: string;
  /** How long rendezvous and each collective may wait for the other ranks (default 30 minutes, as PyTorch). */
  timeoutMs?: number;
}

/** The group this process joined. */
export interface GroupInfo {
  readonly id: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: 'gloo';
  readonly host: string;
  readonly port: number;
}

let current: GroupInfo | null = null;
let joining = false;

/** Whether this build of the addon has c10d's Gloo group (Debian: built with libgloo-dev installed). */
export function isAvailable(): boolean {
  return binding.distIsAvailable();
}

/** Whether init has completed and destroy has not been called. */
export function isInitialized(): boolean {
  return current !== null;
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new TypeError(`distributed.init: $${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

function parseInitMethod(s: string): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(s);
  if (!m) throw new TypeError(`distributed.init: initMethod must be 'tcp://host:port', got '${s}'`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function checkInt(v: unknown, what: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`distributed.init: ${what} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Joins the default process group, as `torch.distributed.init_process_group('gloo', ...)`: rank 0 serves a TCPStore on
 * the given address, every rank connects, and a Gloo group forms over them. Resolves once all `worldSize` ranks have
 * joined; rejects with ERR_DISTRIBUTED_TIMEOUT when they do not within `timeoutMs`. A Python process of the same
 * PyTorch version may be one of the ranks (`init_process_group('gloo', init_method='tcp://...')`).
 * @throws TypeError / RangeError for bad options; TorchError ERR_DISTRIBUTED when already initialised or unavailable.
 * @example await tg.distributed.init();   // under `npx torchgraft run --nproc-per-node 2 train.js`
 */
export async function init(options: InitOptions = {}): Promise<GroupInfo> {
  if (options === null || typeof options !== 'object') throw new TypeError('distributed.init: options must be an object');
  checkKnownKeys(options, ['backend', 'rank', 'worldSize', 'initMethod', 'timeoutMs'], 'distributed.init');
  const backend = options.backend ?? 'gloo';
  if (backend !== 'gloo') throw new TypeError(`distributed.init: backend must be 'gloo' (NCCL needs a CUDA build), got ${JSON.stringify(backend)}`);
  if (!isAvailable()) {
    throw new TorchError('distributed.init: this build of the addon has no c10d Gloo support (rebuild with Gloo headers: apt-get install libgloo-dev && npx torchgraft build)', { code: 'ERR_DISTRIBUTED' });
  }
  if (current || joining) throw new TorchError('distributed.init: already initialised (call destroy() first)', { code: 'ERR_DISTRIBUTED' });
  const worldSize = checkInt(options.worldSize ?? envInt('WORLD_SIZE') ?? 1, 'worldSize', 1, 65536);
  const rank = checkInt(options.rank ?? envInt('RANK') ?? 0, 'rank', 0, worldSize - 1);
  const method = options.initMethod ?? `tcp://${process.env.MASTER_ADDR ?? '127.0.0.1'}:${process.env.MASTER_PORT ?? '29500'}`;
  if (typeof method !== 'string') throw new TypeError('distributed.init: initMethod must be a string');
  const { host, port } = parseInitMethod(method);
  checkInt(port, 'the port', 1, 65535);
  const timeoutMs = checkInt(options.timeoutMs ?? 30 * 60 * 1000, 'timeoutMs', 1, 2 ** 31 - 1);
  joining = true;
  try {
    const id = await binding.distCreate({ host, port, rank, worldSize, timeoutMs, isServer: rank === 0 });
    current = Object.freeze({ id, rank, worldSize, backend, host, port });
    return current;
  } finally {
    joining = false;
  }
}

/** The default group. @throws TorchError ERR_DISTRIBUTED before init. */
export function group(): GroupInfo {
  if (!current) throw new TorchError('distributed: not initialised (await tg.distributed.init() first)', { code: 'ERR_DISTRIBUTED' });
  return current;
}

/** This process's rank in the default group (0 when not initialised, as a single process is rank 0 of 1). */
export function getRank(): number {
  return current ? current.rank : 0;
}

/** The number of processes in the default group (1 when not initialised). */
export function getWorldSize(): number {
  return current ? current.worldSize : 1;
}

/** Leaves the default group and closes its connections; init may be called again. */
export function destroy(): void {
  if (!current) return;
  binding.distDestroy(current.id);
  current = null;
}
