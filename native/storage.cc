// Tensors from raw storage bytes (torch.save records, .npy data): a strided view over the bytes, copied contiguous.
#include "registry.h"
#include "tensor.h"
#include "guard.h"
#include "convert.h"

#include <cstring>

namespace tg {
namespace {

// tensorFromBytes(bytes: Uint8Array, dtype, shape, strides, storageOffset): the bytes hold elements of dtype in native
// byte order; the strided view (in elements) must lie inside them. Returns a new contiguous CPU tensor owning a copy.
Napi::Value TensorFromBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "tensorFromBytes(): bytes must be a Uint8Array");
    Napi::Uint8Array arr = info[0].As<Napi::Uint8Array>();
    at::ScalarType dtype = ToDtype(info[1], "dtype");
    std::vector<int64_t> shape = ToIntList(info[2], "shape");
    std::vector<int64_t> strides = ToIntList(info[3], "strides");
    int64_t offset = ToInt(info[4], "storage offset");
    if (shape.size() != strides.size()) throw Napi::RangeError::New(env, "tensorFromBytes(): shape and strides differ in length");
    const int64_t esize = static_cast<int64_t>(c10::elementSize(dtype));
    const int64_t nbytes = static_cast<int64_t>(arr.ByteLength());
    if (nbytes % esize) throw Napi::RangeError::New(env, "tensorFromBytes(): byte length is not a multiple of the element size");
    const int64_t storageNumel = nbytes / esize;
    bool empty = false;
    int64_t numel = 1;
    for (size_t i = 0; i < shape.size(); i++) {
      if (shape[i] < 0 || strides[i] < 0) throw Napi::RangeError::New(env, "tensorFromBytes(): negative size or stride");
      if (shape[i] == 0) empty = true;
      else if (__builtin_mul_overflow(numel, shape[i], &numel)) throw Napi::RangeError::New(env, "tensorFromBytes(): too many elements");
    }
    if (offset < 0) throw Napi::RangeError::New(env, "tensorFromBytes(): negative storage offset");
    if (empty) return TensorWrap::Make(env, at::empty(shape, at::TensorOptions().dtype(dtype)));
    // The last element the view reaches must lie inside the storage; overflow counts as outside.
    int64_t last = offset;
    for (size_t i = 0; i < shape.size(); i++) {
      int64_t step = 0;
      if (__builtin_mul_overflow(shape[i] - 1, strides[i], &step) || __builtin_add_overflow(last, step, &last))
        throw Napi::RangeError::New(env, "tensorFromBytes(): view reaches past the storage");
    }
    if (last >= storageNumel)
      throw Napi::RangeError::New(env, "tensorFromBytes(): view reaches element " + std::to_string(last) + " of a storage of " +
                                           std::to_string(storageNumel));
    const uint8_t* data = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
    at::Tensor src;
    // Misaligned bytes (an odd offset inside a file buffer) are first copied to an aligned buffer of their own.
    if (reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(esize) == 0) {
      src = at::from_blob(const_cast<uint8_t*>(data), {storageNumel}, at::TensorOptions().dtype(dtype));
    } else {
      src = at::empty({storageNumel}, at::TensorOptions().dtype(dtype));
      std::memcpy(src.data_ptr(), data, static_cast<size_t>(nbytes));
    }
    out.copy_(src.as_strided(shape, strides, offset));
    return TensorWrap::Make(env, out);
  });
}

}  // namespace

void RegisterStorage(Napi::Env env, Napi::Object exports) {
  exports.Set("tensorFromBytes", Napi::Function::New(env, TensorFromBytes, "tensorFromBytes"));
}

}  // namespace tg
