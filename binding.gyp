# node-gyp build of the same sources as CMakeLists.txt (node-gyp-build's fallback path); CMake (cmake-js) is the main build.
# LibTorch comes from scripts/find-libtorch.js: LIBTORCH, then a Python PyTorch, then the system's, as in CMakeLists.txt.
# test/build-config.test.js checks that "sources" lists exactly native/*.cc.
{
  "targets": [
    {
      "target_name": "torchgraft",
      "sources": [
        "native/addon.cc",
        "native/allocator.cc",
        "native/autocast.cc",
        "native/cache_read.cc",
        "native/row_gather.cc",
        "native/clip_grad.cc",
        "native/convert.cc",
        "native/creation.cc",
        "native/ddp_reducer.cc",
        "native/distributed.cc",
        "native/epoch_allocator.cc",
        "native/file_io.cc",
        "native/functional.cc",
        "native/guard.cc",
        "native/jit_trace.cc",
        "native/ivalue_convert.cc",
        "native/native_epoch.cc",
        "native/optim_options.cc",
        "native/optimizer.cc",
        "native/rng_state.cc",
        "native/safetensors.cc",
        "native/script_module.cc",
        "native/script_module_io.cc",
        "native/storage.cc",
        "native/tensor.cc",
        "native/tensor_fast.cc",
        "native/tensor_ops.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node scripts/find-libtorch.js --include-dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "<!@(node scripts/find-libtorch.js --defines)"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fvisibility=hidden", "-Wno-deprecated-declarations", "-Wno-unused-parameter"],
      "ldflags": ["<!@(node scripts/find-libtorch.js --ldflags)"],
      "libraries": ["<!@(node scripts/find-libtorch.js --libraries)"]
    }
  ]
}
