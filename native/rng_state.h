// Random generator states, saved in checkpoints so that a resumed run draws the same numbers (dropout masks,
// random initialisation, default DataLoader seeds) as a run that never stopped.
//
// JS functions (registered on the addon's exports; synchronous; TorchError for a state LibTorch refuses):
//   rngGetState() -> Tensor            the CPU default generator's state (uint8, CPU), like torch.get_rng_state()
//   rngSetState(state: Tensor)         restores it (like torch.set_rng_state); TorchError for a tensor of another
//                                      size or dtype than a state
//   rngGetCudaStates() -> Tensor[]     each CUDA device's default generator state (uint8, CPU), like
//                                      torch.cuda.get_rng_state_all(); [] without CUDA
//   rngSetCudaStates(states: Tensor[]) restores device i from states[i] for every i below the device count (states
//                                      past it are ignored; the TypeScript layer reports them)
#pragma once
#include "pch.h"

namespace tg {

void RegisterRngState(Napi::Env env, Napi::Object exports);

}  // namespace tg
