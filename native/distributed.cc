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
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#ifdef TG_WITH_GLOO
#include "dist_group.h"
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace tg {

#ifdef TG_WITH_GLOO
namespace {

struct CreateSpec {
  std::string host;
  int port;
  int rank;
  int worldSize;
  int64_t timeoutMs;
  bool isServer;
};

c10::intrusive_ptr<c10d::TCPStore> MakeStore(const std::string& host, c10d::TCPStoreOptions opts) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  try {
    return c10::make_intrusive<c10d::TCPStore>(host, opts);
  } catch (const c10::Error& e) {
    // LibTorch 2.4+ asks for the libuv store by default; builds without libuv (Debian's 2.6) use the classic one
    if (std::string(e.what()).find("libuv") == std::string::npos) throw;
    opts.useLibUV = false;
    return c10::make_intrusive<c10d::TCPStore>(host, opts);
  }
#else
  return c10::make_intrusive<c10d::TCPStore>(host, opts);
#endif
}

// A client of the group's store with its own connection (a TCPStore client is not safe to share between threads).
c10::intrusive_ptr<c10d::Store> StoreClient(const std::string& host, int port, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(port);
  opts.isServer = false;
  opts.waitWorkers = false;
  opts.timeout = timeout;
  return c10::make_intrusive<c10d::PrefixStore>("torchgraft_heartbeat/", MakeStore(host, opts));
}

constexpr auto kBeat = std::chrono::milliseconds(250);

// Every kBeat, this rank bumps its counter in the store, so that a rank whose collective failed can tell who stopped.
struct Heartbeat {
  Heartbeat(const std::string& host, int port, int rank) {
    thread = std::thread([this, host, port, rank] {
      try {
        auto store = StoreClient(host, port, std::chrono::milliseconds(2000));
        std::unique_lock<std::mutex> lock(mutex);
        while (!stop) {
          lock.unlock();
          store->add(std::to_string(rank), 1);
          lock.lock();
          cv.wait_for(lock, kBeat, [this] { return stop; });
        }
      } catch (...) {
        // the store's host is gone: nothing left to beat for
      }
    });
  }
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    cv.notify_all();
    thread.join();
  }
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
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
  c10::intrusive_ptr<c10d::TCPStore> tcp = MakeStore(s.host, opts);
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
  g->host = s.host;
  g->port = s.port;
  g->heartbeat = std::make_shared<Heartbeat>(s.host, s.port, s.rank);
  return g;
}

class CreateWorker : public DistWorker {
 public:
  CreateWorker(Napi::Env env, CreateSpec spec)
      : DistWorker(env, [this] { group_ = CreateGroup(spec_); }), spec_(std::move(spec)) {}

 protected:
  void OnDone(Napi::Value) override {
    int64_t id = AddGroup(group_);
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

// Enqueues on Gloo's own threads now, on the JS thread, so collectives keep the order the program issued them in.
Napi::Value AwaitWork(Napi::Env env, std::shared_ptr<Group> g, c10::intrusive_ptr<c10d::Work> work) {
  return Queue(env, [g, work] { NamingSilentRanks(*g, [&] { work->wait(g->timeout); }); });
}

}  // namespace

std::string SilentRanksNote(const Group& g) {
  if (g.size < 2) return "";
  std::vector<int64_t> before(g.size), after(g.size);
  try {
    auto store = StoreClient(g.host, g.port, std::chrono::milliseconds(2000));
    for (int r = 0; r < g.size; ++r) before[r] = store->add(std::to_string(r), 0);
    std::this_thread::sleep_for(kBeat * 6);
    for (int r = 0; r < g.size; ++r) after[r] = store->add(std::to_string(r), 0);
  } catch (...) {
    return g.rank == 0 ? "" : "; rank 0, which hosts the rendezvous store, is unreachable (it stopped or its machine did)";
  }
  std::string silent;
  int count = 0;
  for (int r = 0; r < g.size; ++r) {
    if (r == g.rank || after[r] > before[r]) continue;
    silent += (count++ ? ", " : "") + std::to_string(r);
  }
  if (!count) return "";
  return std::string("; rank") + (count > 1 ? "s " : " ") + silent + (count > 1 ? " have" : " has") +
         " stopped responding (no heartbeat for 1.5 s)";
}

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
    RemoveGroup(ToInt(info[0], "group"));
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
