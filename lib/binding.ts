/**
 * The contract between TypeScript and the native addon: every entry native/*.cc registers, typed.
 *
 * The C++ registrations are the source of truth; test/binding-contract.test.js fails when these interfaces and the
 * loaded addon disagree (names in both directions). Only lib's core files import the binding; feature code calls them.
 */
import type { DType } from './dtype';
import type { AnyTypedArrayView } from './portable-types';
import type { MemoryInfo } from './memory';
import type { Tensor } from './tensor';
import type { SafetensorsHeader } from './io/safetensors';

/** A device as the addon parses it: 'cpu', 'cuda' or 'cuda:N'. */
type DeviceName = string;
/** A tensor, or a JavaScript number or boolean that the addon wraps as a scalar. */
type TensorOrScalar = Tensor | number | boolean;
/** An integer or a list of integers (kernel sizes, strides, paddings). */
type Ints = number | number[];
type Reduction = 'mean' | 'sum' | 'none';
/** Any TypedArray: the addon copies its bytes (its element size must be the source dtype's). */
type TypedArray = AnyTypedArrayView;

/** The native Tensor prototype's members that lib/tensor.ts wraps or keeps internal (not in `interface Tensor`). */
export interface TensorInternals {
  /** The values' bytes, copied on the JS thread (float16 and bfloat16 as float32, bool as uint8). */
  _dataSync(): ArrayBuffer;
  /** As _dataSync, copied on a worker thread. */
  _dataAsync(): Promise<ArrayBuffer>;
  /** retainGraph defaults to createGraph. */
  _backward(gradient?: Tensor, retainGraph?: boolean, createGraph?: boolean): void;
  /** Undefined device or dtype keeps the tensor's own. */
  _to(device?: DeviceName, dtype?: DType, copy?: boolean, nonBlocking?: boolean): Tensor;
  /** The storage's data address: equal ids share memory. */
  _storageId(): number;
  /** The autograd node's name (`MulBackward0`), undefined for leaves. */
  _gradFn(): string | undefined;
  /** LibTorch's version counter: bumped by every in-place change of this tensor or a view of its storage. */
  _version(): number;
  /** The address of the TensorImpl: with `_version`, an in-process identity for staleness checks. */
  _implId(): number;
}

/** A tensor as the addon makes it: the public interface plus the internals. */
export type NativeTensor = Tensor & TensorInternals;

/** LibTorch's optimizers, by the names native/optimizer.cc parses. */
export type NativeOptimizerKind = 'sgd' | 'adagrad' | 'rmsprop' | 'adam' | 'adamw';
/** Options in camelCase (lr, momentum, betas: [b1, b2], ...), read by name; unknown names are a TypeError. */
export type NativeOptimOptions = object;
/** A parameter's state, keyed as PyTorch's state_dict: step (a number) and tensors (copies). */
export type NativeParamState = Record<string, Tensor | number>;

/** An instance of the addon's Optimizer class (native/optimizer.h documents each method). */
/** What nativeEpoch runs: see native/native_epoch.cc. */
export interface NativeEpochSpec {
  steps: [number, NativeScriptModule][];
  /** The dataset's tensors, cast per field and gathered in `order` (absent when `fed`). */
  fields?: Tensor[];
  casts?: (string | null)[];
  order?: Tensor;
  /** Batches come with each run() (a disk feature cache's, read by its own workers); the epoch ends when JS stops. */
  fed?: boolean;
  batchSize: number;
  dropLast: boolean;
  optimizer: NativeOptimizer;
  params: Tensor[];
  clipNorm?: number;
  clipNormType?: number;
  clipValue?: number;
  device?: string;
  /** Run on the calling thread (short epochs). */
  inline?: boolean;
}

/** Where an epoch stands after a chunk: batches and examples so far, the last batch's size and loss, float64 sums (loss, metrics). */
export interface NativeEpochReport {
  done: boolean;
  batches: number;
  count: number;
  size: number;
  loss: number;
  sums: number[];
}

/** A fed epoch's batch: [x, y], or y and the rows of x to gather from a disk cache's blocks. */
export type FedBatch = Tensor[] | { sources: Tensor[]; which: Int32Array; rows: Int32Array; outDtype: string; y: Tensor };

/** An epoch in progress: each run() goes on from where the last one stopped. */
export interface NativeEpochHandle {
  /** One batch, or batches until budgetMs passed (or to the end); a fed epoch trains the batches given, in order (at most 64). */
  run(oneBatch: boolean, budgetMs?: number, ...batches: FedBatch[]): Promise<NativeEpochReport>;
}

export interface NativeOptimizer {
  step(): void;
  /** Sets every parameter's grad to undefined. */
  zeroGrad(): void;
  addParamGroup(params: Tensor[], options?: NativeOptimOptions): void;
  readonly groupCount: number;
  getGroupOptions(group: number): Record<string, number | boolean | [number, number]>;
  setGroupOptions(group: number, options: NativeOptimOptions): void;
  /** Parameter `param` of group `group`; undefined before its first step. */
  getState(group: number, param: number): NativeParamState | undefined;
  /** Undefined clears it. */
  setState(group: number, param: number, state: NativeParamState | undefined): void;
  dispose(): void;
}

/** A TorchScript module or submodule (native/script_module.h documents each method). */
export interface NativeScriptModule {
  /** Qualified class name (`__torch__.torch.nn.modules.linear.Linear`). */
  readonly typeName: string;
  readonly training: boolean;
  /** This module's flag only. */
  setTraining(on: boolean): void;
  /** [name, tensor, key]: equal keys are the same tensor. */
  namedParameters(): [string, Tensor, string][];
  namedBuffers(): [string, Tensor, string][];
  namedChildren(): [string, NativeScriptModule, string][];
  /** Replaces an existing parameter or buffer slot. */
  setAttr(name: string, value: Tensor): void;
  methodNames(): string[];
  /** Arguments are converted by the method's declared types. */
  forward(...args: unknown[]): unknown;
  forwardAsync(...args: unknown[]): Promise<unknown>;
  runMethod(name: string, ...args: unknown[]): unknown;
  schema(method: string): string;
  code(method: string): string;
  graph(method: string): string;
  /** In place: each tensor keeps its identity. */
  to(device?: DeviceName, dtype?: DType): void;
  /** Atomic write of a TorchScript archive. */
  save(path: string): Promise<void>;
}

/** tg.nn.functional's native entries: positional arguments, undefined or null meaning the default. */
export interface NativeFunctional {
  linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor;
  conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, stride?: Ints, padding?: Ints | 'same' | 'valid', dilation?: Ints, groups?: number): Tensor;
  conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, stride?: Ints, padding?: Ints | 'same' | 'valid', dilation?: Ints, groups?: number): Tensor;
  /** stride defaults to the kernel size. */
  maxPool2d(input: Tensor, kernelSize: Ints, stride?: Ints, padding?: Ints, dilation?: Ints, ceilMode?: boolean): Tensor;
  avgPool2d(input: Tensor, kernelSize: Ints, stride?: Ints, padding?: Ints, ceilMode?: boolean, countIncludePad?: boolean): Tensor;
  adaptiveAvgPool2d(input: Tensor, outputSize: Ints): Tensor;
  batchNorm(
    input: Tensor,
    runningMean?: Tensor | null,
    runningVar?: Tensor | null,
    weight?: Tensor | null,
    bias?: Tensor | null,
    training?: boolean,
    momentum?: number,
    eps?: number,
  ): Tensor;
  layerNorm(input: Tensor, normalizedShape: Ints, weight?: Tensor | null, bias?: Tensor | null, eps?: number): Tensor;
  dropout(input: Tensor, p?: number, training?: boolean): Tensor;
  embedding(input: Tensor, weight: Tensor, paddingIdx?: number): Tensor;
  relu(input: Tensor): Tensor;
  elu(input: Tensor, alpha?: number): Tensor;
  selu(input: Tensor): Tensor;
  leakyRelu(input: Tensor, negativeSlope?: number): Tensor;
  gelu(input: Tensor, approximate?: 'none' | 'tanh'): Tensor;
  hardswish(input: Tensor): Tensor;
  hardsigmoid(input: Tensor): Tensor;
  silu(input: Tensor): Tensor;
  softplus(input: Tensor, beta?: number, threshold?: number): Tensor;
  tanh(input: Tensor): Tensor;
  sigmoid(input: Tensor): Tensor;
  softmax(input: Tensor, dim: number): Tensor;
  logSoftmax(input: Tensor, dim: number): Tensor;
  /** Either size or scaleFactor. */
  interpolate(input: Tensor, size?: Ints, scaleFactor?: number, mode?: 'nearest' | 'linear' | 'bilinear' | 'bicubic', alignCorners?: boolean, antialias?: boolean): Tensor;
  crossEntropy(input: Tensor, target: Tensor, weight?: Tensor | null, reduction?: Reduction, ignoreIndex?: number, labelSmoothing?: number): Tensor;
  nllLoss(input: Tensor, target: Tensor, weight?: Tensor | null, reduction?: Reduction, ignoreIndex?: number): Tensor;
  mseLoss(input: Tensor, target: Tensor, reduction?: Reduction): Tensor;
  l1Loss(input: Tensor, target: Tensor, reduction?: Reduction): Tensor;
  smoothL1Loss(input: Tensor, target: Tensor, reduction?: Reduction, beta?: number): Tensor;
  binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, weight?: Tensor | null, reduction?: Reduction, posWeight?: Tensor | null): Tensor;
  binaryCrossEntropy(input: Tensor, target: Tensor, weight?: Tensor | null, reduction?: Reduction): Tensor;
  marginRankingLoss(input1: Tensor, input2: Tensor, target: Tensor, margin?: number, reduction?: Reduction): Tensor;
  tripletMarginLoss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin?: number,
    p?: number,
    eps?: number,
    swap?: boolean,
    reduction?: Reduction,
  ): Tensor;
  klDiv(input: Tensor, target: Tensor, reduction?: Reduction, logTarget?: boolean): Tensor;
  /** numClasses -1: one more than the largest index. */
  oneHot(indices: Tensor, numClasses?: number): Tensor;
  /** (left, right) pairs from the last dimension backwards. */
  pad(input: Tensor, pad: number[], value?: number): Tensor;
  cosineSimilarity(x1: Tensor, x2: Tensor, dim?: number, eps?: number): Tensor;
  pairwiseDistance(x1: Tensor, x2: Tensor, p?: number, eps?: number, keepdim?: boolean): Tensor;
  /** In place: returns input itself. */
  relu_<T extends Tensor>(input: T): T;
  elu_<T extends Tensor>(input: T, alpha?: number): T;
  selu_<T extends Tensor>(input: T): T;
  leakyRelu_<T extends Tensor>(input: T, negativeSlope?: number): T;
}

/** What buildInfo() reports about the LibTorch the addon was compiled against. */
export interface NativeBuildInfo {
  torchVersion: string;
  cuda: boolean;
  cxx11Abi: boolean;
  napiVersion: number;
  threads: number;
  /** glibc's malloc thresholds were fixed for training loops (native/allocator.cc; TORCHGRAFT_MALLOC_TUNING=0 turns it off). */
  mallocTuned: boolean;
}

/** A function of the handle table: tensor handles in, a handle (or nothing, or a value) out. */
export type FastFn = (...handles: number[]) => unknown;

/** The addon's ops by handle (native/tensor_fast.h), name -> function; lib/tensor-class.ts builds methods over them. */
export interface NativeFastTable {
  unary: Record<string, FastFn>;
  unaryInPlace: Record<string, FastFn>;
  binary: Record<string, FastFn>;
  binaryInPlace: Record<string, FastFn>;
  /** add, sub, mul, div (and their `_` forms) with a number: (handle, number). */
  scalar: Record<string, FastFn>;
  scalarInPlace: Record<string, FastFn>;
  /** Getters and methods of `this`: shape, dtype, device, numel, ndim, requiresGrad, isLeaf, isDisposed, dispose, item. */
  members: Record<string, FastFn>;
}

/** The addon's exports. Factories take (..., dtype?, device?) last; undefined or null means float32 (or as noted) on the CPU. */
export interface Binding {
  /** The tensor class (lib/tensor-class.ts, set when it is installed): made by the factories, never with `new`. */
  Tensor: { prototype: NativeTensor; new (): never };
  /** The addon's tensor methods and accessors (a plain object), copied onto the Tensor class's prototype. */
  TensorOps: NativeTensor;
  fast: NativeFastTable;
  /** Registers the Tensor class, its brand check, its constructor's token and the pending batch (array, Int32Array(2)). */
  setTensorClass(ctor: abstract new (...args: never[]) => unknown, handleOf: (v: unknown) => number, token: object, pending: unknown[], state: Int32Array): void;
  /** Decides the pending batch now: its tensors still alive get a GC finalizer. */
  flushPending(): void;
  /** The JS-native contract's version (lib/native.ts refuses a binary whose number differs). */
  addonApi: number;
  /** Reads (offset, bytes, crc or -1) spans of an open file, in order, into one new CPU tensor of `shape` on a worker thread; a failed checksum rejects ERR_CACHE_CORRUPT. */
  readBlocks(fd: number, path: string, spans: Float64Array, dtype: string, shape: number[]): Promise<Tensor>;
  /** Row i = row rows[i] of sources[which[i]] (bytes read as `dtype` rows of `rowShape`), cast to outDtype, on a worker thread. */
  gatherRows(sources: Tensor[], which: Int32Array, rows: Int32Array, dtype: string, rowShape: number[], outDtype: string): Promise<Tensor>;
  /** CRC-32C of bytes, continuing `previous`. */
  crc32c(bytes: Uint8Array, previous?: number): number;
  /** Registers the error class the addon throws for LibTorch failures (non-enumerable: Napi::Addon's method). */
  setErrorClass(ctor: new (message: string, options?: { code?: string }) => Error): void;

  /** Opens a tidy scope; returns its depth for scopeEnd. */
  scopeBegin(): number;
  /** Ends the innermost scope: tensors in keep move to the parent, the rest are disposed. */
  scopeEnd(depth: number, keep?: Tensor[]): void;
  /** Takes t out of every scope; returns t. */
  keep<T extends Tensor>(t: T): T;
  memory(): MemoryInfo;
  /** Returns the previous mode. */
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  buildInfo(): NativeBuildInfo;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  setNumThreads(n: number): void;
  mkldnnIsAvailable(): boolean;
  distIsAvailable(): boolean;
  randpermSeeded(n: number, seed: number): number[];
  distCreate(spec: { host: string; port: number; rank: number; worldSize: number; timeoutMs: number; isServer: boolean }): Promise<number>;
  distAllReduce(group: number, tensor: Tensor, op: 'sum' | 'product' | 'min' | 'max'): Promise<void>;
  distBroadcast(group: number, tensor: Tensor, root: number): Promise<void>;
  distAllGather(group: number, outputs: Tensor[], input: Tensor): Promise<void>;
  distBarrier(group: number): Promise<void>;
  distDestroy(group: number): void;
  ddpCreate(group: number, params: Tensor[], names: string[], bucketSizes: number[], findUnused: boolean): number;
  ddpFinish(reducer: number): Promise<{ buckets: number; overlapped: number }>;
  ddpDispose(reducer: number): void;
  autocastGet(device: 'cpu' | 'cuda'): { enabled: boolean; dtype: DType };
  autocastSet(device: 'cpu' | 'cuda', enabled: boolean, dtype: DType): void;
  autocastEnter(): number;
  autocastExit(): number;
  mkldnnEnabled(): boolean;
  setMkldnnEnabled(on: boolean): void;

  /** Copies values held as srcDtype (same element size as the array's) into a new tensor of dtype (default srcDtype). */
  fromBuffer(data: TypedArray, shape: number[], srcDtype: DType, dtype?: DType | null, device?: DeviceName | null): Tensor;
  empty(shape: number[], dtype?: DType | null, device?: DeviceName | null): Tensor;
  zeros(shape: number[], dtype?: DType | null, device?: DeviceName | null): Tensor;
  ones(shape: number[], dtype?: DType | null, device?: DeviceName | null): Tensor;
  /** Without a dtype it follows the value: bool, int64 for integers, else float32. */
  full(shape: number[], value: number | boolean | bigint, dtype?: DType | null, device?: DeviceName | null): Tensor;
  rand(shape: number[], dtype?: DType | null, device?: DeviceName | null): Tensor;
  randn(shape: number[], dtype?: DType | null, device?: DeviceName | null): Tensor;
  /** Integers in [low, high); int64 by default. */
  randint(low: number, high: number, shape: number[], dtype?: DType | null, device?: DeviceName | null): Tensor;
  /** Integral start, end and step give int64. */
  arange(start: number, end: number, step: number, dtype?: DType | null, device?: DeviceName | null): Tensor;
  linspace(start: number, end: number, steps: number, dtype?: DType | null, device?: DeviceName | null): Tensor;
  /** m defaults to n. */
  eye(n: number, m?: number | null, dtype?: DType | null, device?: DeviceName | null): Tensor;
  manualSeed(seed: number): void;
  cat(tensors: Tensor[], dim?: number): Tensor;
  stack(tensors: Tensor[], dim?: number): Tensor;
  where(condition: Tensor, x: TensorOrScalar, y: TensorOrScalar): Tensor;
  /** By the addon's private handle, not by prototype. */
  isTensor(v: unknown): v is Tensor;

  functional: NativeFunctional;
  Optimizer: new (kind: NativeOptimizerKind, groups: { params: Tensor[]; options: NativeOptimOptions }[], defaults: NativeOptimOptions) => NativeOptimizer;
  /** Norm of all grads together (a 0-d tensor), after scaling them to at most maxNorm. */
  clipGradNorm(grads: Tensor[], maxNorm: number, normType?: number, errorIfNonfinite?: boolean): Tensor;
  clipGradValue(grads: Tensor[], clipValue: number): void;

  /** metadata as [key, value] pairs; an atomic write. */
  safetensorsSave(entries: [string, Tensor][], path: string, metadata?: [string, string][]): Promise<void>;
  /** Tensors in file order. */
  safetensorsLoad(path: string): Promise<{ tensors: [string, Tensor][]; metadata: Record<string, string> }>;
  safetensorsInspect(path: string): Promise<SafetensorsHeader>;
  /** A contiguous CPU copy of the strided view (in elements, native byte order) over bytes. */
  tensorFromBytes(bytes: Uint8Array, dtype: DType, shape: number[], strides: number[], storageOffset: number): Tensor;

  /** The class of scriptModuleLoad's results; its constructor throws. */
  ScriptModule: { prototype: NativeScriptModule; new (): never };
  /** tg.jit.trace's native half: a ScriptModule over these tensors whose forward is the traced one (native/jit_trace.cc). */
  jitTrace(
    params: [string, Tensor][],
    buffers: [string, Tensor][],
    inputs: Tensor[],
    forward: (...inputs: Tensor[]) => Tensor | Tensor[],
    training: boolean,
  ): { module: NativeScriptModule; nondeterministic: string[] };
  /** torch::jit::load, every tensor on the CPU. */
  scriptModuleLoad(path: string): Promise<NativeScriptModule>;
  /** One training epoch on a worker thread (native/native_epoch.cc; fit's native engine). */
  /** Keeps the native epochs' recycled CPU blocks between epochs (true at a fit's start, false at its end). */
  recycleCpuBlocks(hold: boolean): void;
  /** Bytes of CPU blocks the recycling cache holds now. */
  recycledCpuBytes(): number;
  nativeEpoch(spec: NativeEpochSpec): NativeEpochHandle;

  /** The CPU generator's state (uint8). */
  rngGetState(): Tensor;
  rngSetState(state: Tensor): void;
  /** One state per CUDA device; none without CUDA. */
  rngGetCudaStates(): Tensor[];
  /** Sets the first min(states.length, device count) devices. */
  rngSetCudaStates(states: Tensor[]): void;
}
