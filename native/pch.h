// Precompiled header: the LibTorch and Node-API includes every translation unit shares.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/version.h>
#include <napi.h>
#include <memory>
#include <optional>
#include <string>
#include <vector>
