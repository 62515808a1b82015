// c10d process groups for data-parallel training: a TCPStore rendezvous and a Gloo group, created off the JS thread, and
// the collectives (all-reduce, broadcast, all-gather, barrier) enqueued on Gloo's threads, awaited on a pool thread.
//
// distIsAvailable() -> boolean
// distCreate({ host, port, rank, worldSize, timeoutMs, isServer }) -> Promise<groupId>
// distAllReduce(id, tensor, op) / distBroadcast(id, tensor, root) / distAllGather(id, outputs, input) / distBarrier(id)
//   -> Promise<void>   (in place on the given tensors, as torch.distributed)
// distDestroy(id)
#include "pch.h"
#include "registry.h"
#include "guard.h"
#include "convert.h"
#include "addon.h"
#include "file_io.h"
#include <torch/version.h>
#include <ATen/CPUGeneratorImpl.h>
#include <mutex>
#include <unordered_map>

#ifdef TG_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace tg {

#ifdef TG_WITH_GLOO
namespace {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::chrono::milliseconds timeout;
  int rank;
  int size;
};

std::mutex groupsMutex;
std::unordered_map<int64_t, std::shared_ptr<Group>> groups;
int64_t nextGroupId = 1;

std::shared_ptr<Group> FindGroup(int64_t id) {
  std::lock_guard<std::mutex> lock(groupsMutex);
  auto it = groups.find(id);
  if (it == groups.end()) throw CodedError("distributed: the process group was destroyed (call init again)", "ERR_DISTRIBUTED");
  return it->second;
}

struct CreateSpec {
  std::string host;
  int port;
  int rank;
  int worldSize;
  int64_t timeoutMs;
  bool isServer;
};

// What Python's init_process_group('gloo', init_method='tcp://...') builds, so a Python rank can join the same group.
std::shared_ptr<Group> CreateGroup(const CreateSpec& s) {
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(s.port);
  opts.isServer = s.isServer;
  opts.numWorkers = s.worldSize;
  opts.waitWorkers = false;
  opts.multiTenant = true;
  opts.timeout = std::chrono::milliseconds(s.timeoutMs);
  c10::intrusive_ptr<c10d::TCPStore> tcp;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  try {
    tcp = c10::make_intrusive<c10d::TCPStore>(s.host, opts);
  } catch (const c10::Error& e) {
    // LibTorch 2.4+ asks for the libuv store by default; builds without libuv (Debian's 2.6) use the classic one
    if (std::string(e.what()).find("libuv") == std::string::npos) throw;
    opts.useLibUV = false;
    tcp = c10::make_intrusive<c10d::TCPStore>(s.host, opts);
  }
#else
  tcp = c10::make_intrusive<c10d::TCPStore>(s.host, opts);
#endif
  c10::intrusive_ptr<c10d::Store> defaultPg = c10::make_intrusive<c10d::PrefixStore>("default_pg", tcp);
#if TORCH_VERSION_MAJOR >= 2
  // PyTorch 2.x: the group's store is "<group name>/" then "<device>/" under default_pg, and no store barrier.
  c10::intrusive_ptr<c10d::Store> groupStore =
      c10::make_intrusive<c10d::PrefixStore>("cpu/", c10::make_intrusive<c10d::PrefixStore>("0/", defaultPg));
#else
  c10::intrusive_ptr<c10d::Store> groupStore = c10::make_intrusive<c10d::PrefixStore>("0", defaultPg);
#endif
  auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(s.timeoutMs));
  bool loopback = s.host == "127.0.0.1" || s.host == "localhost" || s.host == "::1";
  options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname(s.host)
                                      : c10d::ProcessGroupGloo::createDefaultDevice());
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(groupStore, s.rank, s.worldSize, options);
#if TORCH_VERSION_MAJOR < 2
  // PyTorch 1.13's init_process_group waits until every rank has made its group (a store-based barrier).
  const std::string key = "store_based_barrier_key:1";
  defaultPg->add(key, 1);
  auto start = std::chrono::steady_clock::now();
  while (defaultPg->add(key, 0) < s.worldSize) {
    if (std::chrono::steady_clock::now() - start > std::chrono::milliseconds(s.timeoutMs))
      throw CodedError("distributed: timed out waiting for every rank to join the group", "ERR_DISTRIBUTED_TIMEOUT");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
#endif
  pg->setSequenceNumberForGroup();
  auto g = std::make_shared<Group>();
  g->store = tcp;
  g->pg = pg;
  g->timeout = std::chrono::milliseconds(s.timeoutMs);
  g->rank = s.rank;
  g->size = s.worldSize;
  return g;
}

// A blocking distributed job on a pool thread; failures reject with ERR_DISTRIBUTED(_TIMEOUT) and the message.
class DistWorker : public Napi::AsyncWorker {
 public:
  DistWorker(Napi::Env env, std::function<void()> job)
      : Napi::AsyncWorker(env, "torchgraft.distributed"), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      job_();
    } catch (const CodedError& e) {
      code_ = e.code;
      SetError(e.what());
    } catch (const c10::Error& e) {
      SetMessage(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetMessage(e.what());
    } catch (...) {
      SetError("distributed: unknown native error");
    }
  }
  void OnOK() override { OnDone(deferred_.Env().Undefined()); }
  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Addon* addon = env.GetInstanceData<Addon>();
    Napi::Object err = addon && !addon->torchErrorCtor.IsEmpty() ? addon->torchErrorCtor.New({Napi::String::New(env, e.Message())})
                                                                 : Napi::Error::New(env, e.Message()).Value();
    err.Set("code", Napi::String::New(env, code_));
    deferred_.Reject(err);
  }

 protected:
  virtual void OnDone(Napi::Value v) { deferred_.Resolve(v); }
  Napi::Promise::Deferred deferred_;

 private:
  void SetMessage(const std::string& raw) {
    std::string m = TrimBacktrace(raw);
    std::string lower = m;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower.find("timed out") != std::string::npos || lower.find("timeout") != std::string::npos) code_ = "ERR_DISTRIBUTED_TIMEOUT";
    SetError("distributed: " + m);
  }
  std::function<void()> job_;
  std::string code_ = "ERR_DISTRIBUTED";
};

class CreateWorker : public DistWorker {
 public:
  CreateWorker(Napi::Env env, CreateSpec spec)
      : DistWorker(env, [this] { group_ = CreateGroup(spec_); }), spec_(std::move(spec)) {}

 protected:
  void OnDone(Napi::Value) override {
    int64_t id;
    {
      std::lock_guard<std::mutex> lock(groupsMutex);
      id = nextGroupId++;
      groups[id] = group_;
    }
    deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(id)));
  }

 private:
  CreateSpec spec_;
  std::shared_ptr<Group> group_;
};

c10d::ReduceOp ToReduceOp(const Napi::Value& v) {
  std::string op = ToString(v, "op");
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "max") return c10d::ReduceOp::MAX;
  TORCH_CHECK_VALUE(false, "allReduce: op must be 'sum', 'product', 'min' or 'max', got '", op, "'");
}

// Collectives need dense, contiguous CPU tensors (Gloo's CPU path); a clear error beats Gloo's.
at::Tensor CpuDense(const Napi::Value& v, const char* what) {
  at::Tensor t = ToTensor(v, what);
  TORCH_CHECK_VALUE(t.device().is_cpu(), "distributed (gloo): ", what, " must be a CPU tensor, got one on ", t.device(),
                    " (NCCL is needed for CUDA tensors)");
  TORCH_CHECK_VALUE(t.is_contiguous(), "distributed: ", what, " must be contiguous (call .contiguous() first)");
  return t;
}

Napi::Value Queue(Napi::Env env, std::function<void()> job) {
  auto* w = new DistWorker(env, std::move(job));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// Enqueues on Gloo's own threads now, on the JS thread, so collectives keep the order the program issued them in.
Napi::Value AwaitWork(Napi::Env env, std::shared_ptr<Group> g, c10::intrusive_ptr<c10d::Work> work) {
  return Queue(env, [g, work] { work->wait(g->timeout); });
}

}  // namespace

static Napi::Value DistCreate(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    TORCH_CHECK_TYPE(info.Length() >= 1 && info[0].IsObject(), "distributed.init: expected an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    CreateSpec s;
    s.host = ToString(o.Get("host"), "host");
    s.port = static_cast<int>(ToInt(o.Get("port"), "port"));
    s.rank = static_cast<int>(ToInt(o.Get("rank"), "rank"));
    s.worldSize = static_cast<int>(ToInt(o.Get("worldSize"), "worldSize"));
    s.timeoutMs = ToInt(o.Get("timeoutMs"), "timeoutMs");
    s.isServer = o.Get("isServer").ToBoolean().Value();
    auto* w = new CreateWorker(info.Env(), std::move(s));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  });
}

static Napi::Value DistAllReduce(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto g = FindGroup(ToInt(info[0], "group"));
    std::vector<at::Tensor> ts{CpuDense(info[1], "tensor")};
    c10d::AllreduceOptions opts;
    opts.reduceOp = ToReduceOp(info[2]);
    return AwaitWork(info.Env(), g, g->pg->allreduce(ts, opts));
  });
}

static Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto g = FindGroup(ToInt(info[0], "group"));
    std::vector<at::Tensor> ts{CpuDense(info[1], "tensor")};
    c10d::BroadcastOptions opts;
    opts.rootRank = ToInt(info[2], "root");
    TORCH_CHECK_VALUE(opts.rootRank >= 0 && opts.rootRank < g->size, "broadcast: root must be a rank in [0, ", g->size, "), got ", opts.rootRank);
    return AwaitWork(info.Env(), g, g->pg->broadcast(ts, opts));
  });
}

static Napi::Value DistAllGather(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto g = FindGroup(ToInt(info[0], "group"));
    TORCH_CHECK_TYPE(info[1].IsArray(), "allGather: expected an array of output tensors");
    Napi::Array arr = info[1].As<Napi::Array>();
    TORCH_CHECK_VALUE(static_cast<int>(arr.Length()) == g->size, "allGather: expected ", g->size, " output tensors (one per rank), got ", arr.Length());
    at::Tensor input = CpuDense(info[2], "input");
    std::vector<std::vector<at::Tensor>> outs(1);
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      at::Tensor t = CpuDense(arr.Get(i), "output");
      TORCH_CHECK_VALUE(t.sizes() == input.sizes() && t.scalar_type() == input.scalar_type(),
                        "allGather: every output must have the input's shape and dtype");
      outs[0].push_back(t);
    }
    std::vector<at::Tensor> ins{input};
    return AwaitWork(info.Env(), g, g->pg->allgather(outs, ins));
  });
}

static Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto g = FindGroup(ToInt(info[0], "group"));
    return AwaitWork(info.Env(), g, g->pg->barrier());
  });
}

static Napi::Value DistDestroy(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    int64_t id = ToInt(info[0], "group");
    std::lock_guard<std::mutex> lock(groupsMutex);
    groups.erase(id);
    return info.Env().Undefined();
  });
}
#endif  // TG_WITH_GLOO

// torch.randperm(n, generator=torch.Generator().manual_seed(seed)), as DistributedSampler draws it: a JS array.
static Napi::Value RandpermSeeded(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    int64_t n = ToInt(info[0], "n");
    int64_t seed = ToInt(info[1], "seed");
    TORCH_CHECK_VALUE(n >= 0 && n <= (int64_t{1} << 32), "randpermSeeded: n must be in [0, 2^32], got ", n);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    at::Tensor perm = at::randperm(n, gen, at::TensorOptions().dtype(at::kLong));
    const int64_t* p = perm.data_ptr<int64_t>();
    Napi::Array out = Napi::Array::New(info.Env(), static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(p[i])));
    return out;
  });
}

static Napi::Value DistIsAvailable(const Napi::CallbackInfo& info) {
#ifdef TG_WITH_GLOO
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distIsAvailable", Napi::Function::New<DistIsAvailable>(env, "distIsAvailable"));
  exports.Set("randpermSeeded", Napi::Function::New<RandpermSeeded>(env, "randpermSeeded"));
#ifdef TG_WITH_GLOO
  exports.Set("distCreate", Napi::Function::New<DistCreate>(env, "distCreate"));
  exports.Set("distAllReduce", Napi::Function::New<DistAllReduce>(env, "distAllReduce"));
  exports.Set("distBroadcast", Napi::Function::New<DistBroadcast>(env, "distBroadcast"));
  exports.Set("distAllGather", Napi::Function::New<DistAllGather>(env, "distAllGather"));
  exports.Set("distBarrier", Napi::Function::New<DistBarrier>(env, "distBarrier"));
  exports.Set("distDestroy", Napi::Function::New<DistDestroy>(env, "distDestroy"));
#endif
}

}  // namespace tg
