// The C++ floor: the same small ops as bench/run.js, looped entirely inside LibTorch's C++ API (one thread).
// Usage: floor ITERS TRIALS  -> prints one JSON object: { op: [ns/op per trial, ...], ... }
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

// Keeps the compiler from dropping work whose result is unused.
static void Sink(const at::Tensor& t) { asm volatile("" : : "r"(t.unsafeGetTensorImpl()) : "memory"); }

// CPU time of the process: unlike wall time, it does not count time the scheduler gave to other processes.
static double CpuNs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct Result {
  std::vector<double> wall, cpu;
};

template <typename F>
static Result Measure(long iters, int trials, F&& body) {
  for (long i = 0; i < iters / 4 + 1000; ++i) body();  // warm-up: allocator caches, dispatcher tables
  Result out;
  for (int t = 0; t < trials; ++t) {
    double c0 = CpuNs();
    auto start = Clock::now();
    for (long i = 0; i < iters; ++i) body();
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    out.cpu.push_back((CpuNs() - c0) / static_cast<double>(iters));
    out.wall.push_back(ns / static_cast<double>(iters));
  }
  return out;
}

static void Print(const char* name, const std::vector<double>& v, bool last) {
  std::printf("  \"%s\": [", name);
  for (size_t i = 0; i < v.size(); ++i) std::printf("%s%.2f", i ? ", " : "", v[i]);
  std::printf("]%s\n", last ? "" : ",");
}

static void Print(const std::string& name, const Result& r, bool last) {
  Print(name.c_str(), r.wall, false);
  Print((name + "_cpu").c_str(), r.cpu, last);
}

int main(int argc, char** argv) {
  long iters = argc > 1 ? std::atol(argv[1]) : 200000;
  int trials = argc > 2 ? std::atoi(argv[2]) : 7;
  at::set_num_threads(1);
  // Same tensors as the JS and Python sides: 4-element float32 on the CPU, grad mode on (the default).
  at::Tensor x = at::ones({4}, at::kFloat);
  at::Tensor y = at::ones({4}, at::kFloat);
  auto alloc = Measure(iters, trials, [&] {
    at::Tensor z = x + x;  // allocated here, released at the end of the statement's scope
    Sink(z);
  });
  auto inplace = Measure(iters, trials, [&] {
    x.add_(y);
    Sink(x);
  });
  auto scalar = Measure(iters, trials, [&] {
    x.add_(1);  // a number argument: LibTorch wraps it as a 0-dim tensor, as Python and torchgraft do
    Sink(x);
  });
  // Keeps the in-place values bounded and checks the loop really ran.
  if (x[0].item<float>() < 2.0f) return 1;
  std::printf("{\n  \"threads\": %d,\n  \"torch\": \"%s\",\n", at::get_num_threads(), TORCH_VERSION);
  Print("add_alloc", alloc, false);
  Print("add_inplace", inplace, false);
  Print("add_scalar_inplace", scalar, true);
  std::printf("}\n");
  return 0;
}
