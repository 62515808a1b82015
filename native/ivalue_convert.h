// Conversion between JavaScript values and TorchScript IValues, for calling scripted methods and reading their results.
//
// JS -> IValue follows the declared type of the argument (so 2 passed for a `float` is 2.0, for an `int` is 2):
//   Tensor <- a torchgraft Tensor; int, float, number (Scalar) <- a JS number (int: an integer), bool <- boolean,
//   str <- string, Device <- 'cpu' | 'cuda:N', Optional[T] <- null/undefined or T, List[T] and Tuple[...] <- arrays,
//   Dict[str|int, V] <- a plain object or a Map. An argument whose type is Any (or unknown) is inferred from the value.
// IValue -> JS: Tensor -> a new Tensor wrapper (registered in the current tidy scope), int/float -> number,
//   bool -> boolean, str -> string, None -> null, Device -> 'cpu' | 'cuda:N', List/Tuple -> array,
//   Dict with string keys -> plain object, other Dict -> Map.
// Anything else (script objects, futures, complex numbers, ...) throws TypeError naming the TorchScript type.
#pragma once
#include "pch.h"
#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

namespace tg {

// Converts v to the TorchScript type `type`; `what` names the argument in errors (TypeError on a mismatch).
c10::IValue ToIValue(Napi::Value v, const c10::TypePtr& type, const std::string& what);

// Converts a result back to JavaScript; `what` names the method in errors.
Napi::Value FromIValue(Napi::Env env, const c10::IValue& v, const std::string& what);

}  // namespace tg
