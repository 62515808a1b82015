// DistributedDataParallel's gradient reducer, as PyTorch's c10d::Reducer: a post hook on each trainable parameter's
// gradient accumulator copies the gradient into its bucket during backward, and a bucket whose gradients are all in
// starts its all-reduce on Gloo's threads at once (in bucket order, the same on every rank), overlapping the rest of
// backward; ddpFinish waits for them off the JS thread and writes the averages back into the gradients.
//
// ddpCreate(groupId, params, names, bucketSizes, findUnused) -> id   (bucketSizes: parameters per bucket, in order)
// ddpFinish(id) -> Promise<{ buckets, overlapped }>   (overlapped: buckets whose all-reduce started inside backward)
// ddpDispose(id)
#include "pch.h"
#include "registry.h"
#include "guard.h"
#include "convert.h"

#ifdef TG_WITH_GLOO
#include "dist_group.h"
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

namespace tg {
namespace {

class Reducer : public std::enable_shared_from_this<Reducer> {
 public:
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> members;
    size_t pending = 0;
    bool launched = false;
    bool stale = false;  // a member's gradient changed after the launch (two backwards before one sync)
    c10::intrusive_ptr<c10d::Work> work;
  };

  Reducer(int64_t groupId, std::vector<at::Tensor> params, std::vector<std::string> names, const std::vector<int64_t>& sizes, bool findUnused)
      : groupId_(groupId), params_(std::move(params)), names_(std::move(names)), findUnused_(findUnused) {
    size_t next = 0;
    for (int64_t n : sizes) {
      Bucket b;
      int64_t numel = 0;
      for (int64_t k = 0; k < n; ++k, ++next) {
        TORCH_CHECK_VALUE(next < params_.size(), "ddpCreate: the bucket sizes add up to more than the parameters");
        b.members.push_back(next);
        offsets_.push_back(numel);
        bucketOf_.push_back(buckets_.size());
        numel += params_[next].numel();
        TORCH_CHECK_VALUE(params_[next].scalar_type() == params_[b.members[0]].scalar_type() && params_[next].device().is_cpu(),
                          "ddpCreate: a bucket's parameters must share a dtype and be on the CPU");
      }
      TORCH_CHECK_VALUE(!b.members.empty(), "ddpCreate: an empty bucket");
      b.flat = at::zeros({numel}, params_[b.members[0]].options());
      b.pending = b.members.size();
      buckets_.push_back(std::move(b));
    }
    TORCH_CHECK_VALUE(next == params_.size(), "ddpCreate: the bucket sizes add up to fewer than the parameters");
    ready_.assign(params_.size(), false);
  }

  ~Reducer() { Unhook(); }

  // After construction, since the hooks hold a weak reference to this.
  void Hook() {
    for (size_t i = 0; i < params_.size(); ++i) {
      TORCH_CHECK_VALUE(params_[i].requires_grad() && params_[i].is_leaf(), "ddpCreate: parameter '", names_[i], "' is not a leaf that requires grad");
      auto acc = torch::autograd::impl::grad_accumulator(params_[i]);
      std::weak_ptr<Reducer> self = shared_from_this();
      keys_.push_back(acc->add_post_hook(std::make_unique<PostHook>([self, i] {
        if (auto r = self.lock()) r->OnGradient(i);
      })));
      accumulators_.push_back(std::move(acc));
    }
  }

  void Unhook() {
    for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(keys_[i]);
    accumulators_.clear();
    keys_.clear();
  }

  // On the pool thread: every bucket reduced, averaged and written back into the gradients.
  std::pair<size_t, size_t> Finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    auto g = FindGroup(groupId_);
    std::string failure = std::move(hookError_);
    hookError_.clear();
    size_t overlapped = overlapped_;
    overlapped_ = 0;
    if (failure.empty()) {
      try {
        CheckMissing();
        for (size_t b = 0; b < buckets_.size(); ++b) {
          Bucket& bk = buckets_[b];
          if (bk.stale) {
            if (bk.work) NamingSilentRanks(*g, [&] { bk.work->wait(g->timeout); });
            bk.work.reset();
            bk.launched = false;
          }
          if (!bk.launched) {
            // unused since the last sync: zeros (findUnusedParameters); before the first sync, whatever backward left
            for (size_t i : bk.members) CopyIn(i, ready_[i] || !armed_);
            Launch(*g, b);
          }
        }
        NamingSilentRanks(*g, [&] {
          for (Bucket& bk : buckets_) bk.work->wait(g->timeout);
        });
        for (Bucket& bk : buckets_) CopyOut(bk, g->size);
      } catch (...) {
        Reset();
        throw;
      }
    }
    Reset();
    if (!failure.empty()) throw CodedError(failure, "ERR_DISTRIBUTED");
    return {buckets_.size(), overlapped};
  }

 private:
  struct PostHook : torch::autograd::FunctionPostHook {
    explicit PostHook(std::function<void()> fn) : fn(std::move(fn)) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) override {
      fn();
      return outputs;
    }
    std::function<void()> fn;
  };

  // On the thread running backward, right after parameter i's gradient was accumulated.
  void OnGradient(size_t i) {
    std::lock_guard<std::mutex> lock(mutex_);
    Bucket& bk = buckets_[bucketOf_[i]];
    if (ready_[i]) {
      if (bk.launched) bk.stale = true;
      else CopyIn(i, true);
      return;
    }
    ready_[i] = true;
    try {
      CopyIn(i, true);
      if (--bk.pending > 0) return;
      auto g = TryFindGroup(groupId_);
      if (!g) throw CodedError("distributed: the process group was destroyed during backward", "ERR_DISTRIBUTED");
      // Buckets start in order (as every rank must issue them alike), each as soon as it and those before it are full.
      while (nextToLaunch_ < buckets_.size() && buckets_[nextToLaunch_].pending == 0) {
        Launch(*g, nextToLaunch_);
        ++overlapped_;
      }
    } catch (const std::exception& e) {
      // A hook must not throw through the autograd engine: the failure is reported by the next sync.
      if (hookError_.empty()) hookError_ = std::string("DistributedDataParallel: ") + TrimBacktrace(e.what());
    }
  }

  void CopyIn(size_t i, bool useGrad) {
    Bucket& bk = buckets_[bucketOf_[i]];
    at::Tensor slot = bk.flat.narrow(0, offsets_[i], params_[i].numel());
    const at::Tensor& grad = params_[i].grad();
    if (useGrad && grad.defined()) slot.copy_(grad.reshape({-1}));
    else slot.zero_();
  }

  void Launch(Group& g, size_t b) {
    Bucket& bk = buckets_[b];
    std::vector<at::Tensor> ts{bk.flat};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    bk.work = g.pg->allreduce(ts, opts);
    bk.launched = true;
    if (b >= nextToLaunch_) nextToLaunch_ = b + 1;
  }

  // Parameters that got no gradient since the last sync: zeros with findUnusedParameters, an error otherwise.
  void CheckMissing() {
    std::vector<std::string> missing;
    for (size_t i = 0; i < params_.size(); ++i)
      if (!ready_[i] && !(armed_ ? false : params_[i].grad().defined())) missing.push_back(names_[i]);
    if (missing.empty() || findUnused_) return;
    std::string list;
    for (size_t k = 0; k < missing.size() && k < 5; ++k) list += (k ? ", '" : "'") + missing[k] + "'";
    if (missing.size() > 5) list += " and " + std::to_string(missing.size() - 5) + " more";
    throw CodedError("DistributedDataParallel: parameter" + std::string(missing.size() > 1 ? "s " : " ") + list +
                         " got no gradient in this step (pass findUnusedParameters: true when some parameters are not used every step)",
                     "ERR_DISTRIBUTED");
  }

  void CopyOut(Bucket& bk, int world) {
    at::NoGradGuard noGrad;
    bk.flat.div_(world);
    for (size_t i : bk.members) {
      at::Tensor slice = bk.flat.narrow(0, offsets_[i], params_[i].numel()).view(params_[i].sizes());
      at::Tensor& grad = params_[i].mutable_grad();
      if (grad.defined()) grad.copy_(slice);
      else grad = slice.clone();
    }
  }

  void Reset() {
    for (Bucket& bk : buckets_) {
      bk.pending = bk.members.size();
      bk.launched = false;
      bk.stale = false;
      bk.work.reset();
    }
    ready_.assign(params_.size(), false);
    nextToLaunch_ = 0;
    armed_ = true;
  }

  int64_t groupId_;
  std::vector<at::Tensor> params_;
  std::vector<std::string> names_;
  bool findUnused_;
  std::vector<Bucket> buckets_;
  std::vector<int64_t> offsets_;
  std::vector<size_t> bucketOf_;
  std::vector<bool> ready_;
  size_t nextToLaunch_ = 0;
  size_t overlapped_ = 0;
  // Before the first sync, gradients that backward left without the hooks (the reducer was made after it) count.
  bool armed_ = false;
  std::string hookError_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> keys_;
};

std::mutex reducersMutex;
std::unordered_map<int64_t, std::shared_ptr<Reducer>> reducers;
int64_t nextReducerId = 1;

std::shared_ptr<Reducer> FindReducer(int64_t id) {
  std::lock_guard<std::mutex> lock(reducersMutex);
  auto it = reducers.find(id);
  TORCH_CHECK_VALUE(it != reducers.end(), "DistributedDataParallel: the gradient reducer was disposed");
  return it->second;
}

}  // namespace

static Napi::Value DdpCreate(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    int64_t groupId = ToInt(info[0], "group");
    FindGroup(groupId);
    std::vector<at::Tensor> params = ToTensorList(info[1], "params");
    TORCH_CHECK_TYPE(info[2].IsArray() && info[3].IsArray(), "ddpCreate: expected arrays of names and bucket sizes");
    Napi::Array namesArr = info[2].As<Napi::Array>();
    Napi::Array sizesArr = info[3].As<Napi::Array>();
    TORCH_CHECK_VALUE(namesArr.Length() == params.size(), "ddpCreate: one name per parameter");
    std::vector<std::string> names;
    for (uint32_t i = 0; i < namesArr.Length(); ++i) names.push_back(ToString(namesArr.Get(i), "name"));
    std::vector<int64_t> sizes;
    for (uint32_t i = 0; i < sizesArr.Length(); ++i) sizes.push_back(ToInt(sizesArr.Get(i), "bucket size"));
    auto r = std::make_shared<Reducer>(groupId, std::move(params), std::move(names), sizes, info[4].ToBoolean().Value());
    r->Hook();
    std::lock_guard<std::mutex> lock(reducersMutex);
    int64_t id = nextReducerId++;
    reducers[id] = std::move(r);
    return Napi::Number::New(info.Env(), static_cast<double>(id));
  });
}

namespace {
class FinishWorker : public DistWorker {
 public:
  FinishWorker(Napi::Env env, std::shared_ptr<Reducer> r) : DistWorker(env, [this] { result_ = reducer_->Finish(); }), reducer_(std::move(r)) {}

 protected:
  void OnDone(Napi::Value) override {
    Napi::Object o = Napi::Object::New(Env());
    o.Set("buckets", Napi::Number::New(Env(), static_cast<double>(result_.first)));
    o.Set("overlapped", Napi::Number::New(Env(), static_cast<double>(result_.second)));
    deferred_.Resolve(o);
  }

 private:
  std::shared_ptr<Reducer> reducer_;
  std::pair<size_t, size_t> result_;
};
}  // namespace

static Napi::Value DdpFinish(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* w = new FinishWorker(info.Env(), FindReducer(ToInt(info[0], "reducer")));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  });
}

static Napi::Value DdpDispose(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    std::shared_ptr<Reducer> r;
    {
      std::lock_guard<std::mutex> lock(reducersMutex);
      auto it = reducers.find(ToInt(info[0], "reducer"));
      if (it == reducers.end()) return info.Env().Undefined();
      r = std::move(it->second);
      reducers.erase(it);
    }
    r->Unhook();  // the hooks go now; a Finish in flight keeps the rest alive until it returns
    return info.Env().Undefined();
  });
}

void RegisterDdpReducer(Napi::Env env, Napi::Object exports) {
  exports.Set("ddpCreate", Napi::Function::New<DdpCreate>(env, "ddpCreate"));
  exports.Set("ddpFinish", Napi::Function::New<DdpFinish>(env, "ddpFinish"));
  exports.Set("ddpDispose", Napi::Function::New<DdpDispose>(env, "ddpDispose"));
}

}  // namespace tg

#else
namespace tg {
void RegisterDdpReducer(Napi::Env, Napi::Object) {}
}  // namespace tg
#endif  // TG_WITH_GLOO
