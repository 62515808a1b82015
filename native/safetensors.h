// safetensors files (https://github.com/huggingface/safetensors): atomic writing and validated reading, off the JS thread.
//
// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON
//   { "__metadata__": { str: str }?, name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
// then the data buffer; offsets are relative to the buffer and must tile it exactly (no gap, no overlap, no tail).
//
// JS functions (registered on the addon's exports). Every failure is a TorchError whose message names the file and
// the problem, with `code` one of:
//   ERR_SAFETENSORS_TRUNCATED  the file ends before what its header length or data offsets need
//   ERR_SAFETENSORS_HEADER     header length out of bounds, not UTF-8, not JSON, wrong structure, duplicate names,
//                              bad shape (negative, not an integer, element count overflowing int64), bad __metadata__
//   ERR_SAFETENSORS_DTYPE      a dtype that is unknown or that this LibTorch cannot hold
//   ERR_SAFETENSORS_OFFSETS    data_offsets reversed, not matching dtype x shape, overlapping, leaving a gap, or
//                              leaving bytes after the last tensor
//   ERR_SAFETENSORS_DATA       a BOOL tensor holding bytes other than 0 and 1
//   ERR_SAFETENSORS_ENTRY      (save) a bad entry: not a tensor, disposed, duplicate or reserved name, unsupported dtype
//   ERR_IO                     the operating system refused (open, read, write, fsync, rename); message has strerror
//
//   safetensorsSave(entries: [name: string, tensor: Tensor][], path: string, metadata?: [key: string, value: string][])
//       -> Promise<undefined>. Async. Entries are checked on the JS thread (synchronous TypeError/TorchError for a
//       wrong argument). The worker holds its own tensor handles (disposing a JS tensor meanwhile is safe; changing
//       one in place before the promise settles races with the write, as the TS docs say), moves
//       them to contiguous CPU memory, and writes the header (entries ordered by element size, largest first, then
//       by name; header padded with spaces to 8 bytes so every tensor is aligned) and the data to
//       `path.tmp-<pid>-<random>`, fsyncs it, renames it over `path`, and fsyncs the directory. On failure the temp
//       file is removed and any previous `path` is untouched.
//   safetensorsLoad(path: string) -> Promise<{ tensors: [name, Tensor][], metadata: {[k]: string} }>. Async.
//       Validates the whole header against the file size before allocating anything, then reads each tensor with
//       pread straight into its own storage (one copy; a file truncated meanwhile is an error, never a SIGBUS).
//       Tensors come in file order (by data offset). U16 and U32 widen losslessly to int32 and int64; F8_E4M3 and
//       F8_E5M2 widen to float32 where LibTorch >= 2.1 has them; U64 and other dtypes are ERR_SAFETENSORS_DTYPE.
//   safetensorsInspect(path: string) -> Promise<{ entries: {name, dtype, shape, begin, end}[], metadata,
//       headerBytes: number, fileBytes: number }>. Async. The validated header alone (dtype as the file names it).
#pragma once
#include "pch.h"

namespace tg {

void RegisterSafetensors(Napi::Env env, Napi::Object exports);

}  // namespace tg
