// Tidy scopes: every live tensor wrapper belongs to one scope; ending a scope disposes what it still holds.
#pragma once
#include <cstddef>

namespace tg {

class TensorWrap;

// An intrusive list of tensor wrappers, so linking and unlinking cost O(1) per op.
struct Scope {
  TensorWrap* head = nullptr;
  size_t count = 0;
};

}  // namespace tg
