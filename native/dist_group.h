// The process groups tg.distributed made (by id) and the pool-thread worker their blocking jobs run on; shared by
// distributed.cc and ddp_reducer.cc, the two units compiled with Gloo.
#pragma once
#ifdef TG_WITH_GLOO
#include "pch.h"
#include "guard.h"
#include "addon.h"
#include "file_io.h"
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <algorithm>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace tg {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::chrono::milliseconds timeout;
  int rank;
  int size;
  std::string host;
  int port;
  std::shared_ptr<void> heartbeat;  // this rank's heartbeat thread, stopped and joined with the group
};

// After a collective failed: which other ranks stopped beating (", rank 1 stopped responding"), or "" when all beat.
std::string SilentRanksNote(const Group& g);

// Runs a wait on a collective; its failure's message gains the ranks that stopped responding.
template <typename F>
void NamingSilentRanks(const Group& g, F&& wait) {
  try {
    wait();
  } catch (const c10::Error& e) {
    throw std::runtime_error(TrimBacktrace(e.what_without_backtrace()) + SilentRanksNote(g));
  } catch (const CodedError&) {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + SilentRanksNote(g));
  }
}

struct GroupRegistry {
  std::mutex mutex;
  std::unordered_map<int64_t, std::shared_ptr<Group>> groups;
  int64_t nextId = 1;
};

inline GroupRegistry& Groups() {
  static GroupRegistry registry;
  return registry;
}

inline int64_t AddGroup(std::shared_ptr<Group> g) {
  auto& r = Groups();
  std::lock_guard<std::mutex> lock(r.mutex);
  int64_t id = r.nextId++;
  r.groups[id] = std::move(g);
  return id;
}

inline void RemoveGroup(int64_t id) {
  auto& r = Groups();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.groups.erase(id);
}

// Null when the group was destroyed.
inline std::shared_ptr<Group> TryFindGroup(int64_t id) {
  auto& r = Groups();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.groups.find(id);
  return it == r.groups.end() ? nullptr : it->second;
}

inline std::shared_ptr<Group> FindGroup(int64_t id) {
  auto g = TryFindGroup(id);
  if (!g) throw CodedError("distributed: the process group was destroyed (call init again)", "ERR_DISTRIBUTED");
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
    deferred_.Reject(TorchErrorValue(env, e.Message(), code_.c_str()));
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

// Runs job on a pool thread; the promise settles when it returns or throws.
inline Napi::Value Queue(Napi::Env env, std::function<void()> job) {
  auto* w = new DistWorker(env, std::move(job));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace tg
#endif  // TG_WITH_GLOO
