// Tensors whose bytes are not reported to V8 as external memory: buffers a library component frees itself, at a known
// point (a disk cache's blocks), whose reports would only make V8 run full collections to reclaim nothing (a major GC
// every ~100 ms while a disk cache trained, each pausing the JavaScript thread 5-11 ms).
#pragma once
#include "pch.h"

namespace tg {

// Wraps t like TensorWrap::Make, without reporting its storage to V8.
Napi::Value MakeUnreportedTensor(Napi::Env env, at::Tensor t);

}  // namespace tg
