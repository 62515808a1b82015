#!/usr/bin/env bash
# The one check to run on the GPU machine (no npm there; see ../shared/gpu/README.md), from the project root:
#   bash ../shared/gpu/pack.sh && npm run build:ts        # here, first: writes .gpu/ and dist/
#   bash .gpu/run.sh bash scripts/gpu-check.sh            # there, carrying .gpu and dist
# A clean plain-cmake build against the machine's CUDA LibTorch (timed, ccache off so reruns time the same), the test
# suite with CUDA, the CUDA prebuilt binary, and the benchmarks when bench/run.js exists. Everything is tee'd to
# $OUT/gpu-log.txt; a summary at the end says which step failed. Safe to rerun: every step starts from scratch.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"

declare -a SUMMARY=()
failed=0
step() { # step NAME COMMAND...: runs, times and records one step; carries on after a failure
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  local t0 t1 rc
  t0=$(date +%s.%N)
  "$@"
  rc=$?
  t1=$(date +%s.%N)
  local secs
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  SUMMARY+=("$(printf '%-28s %s  %6ss' "$name" "$([[ $rc -eq 0 ]] && echo ok || echo "FAILED($rc)")" "$secs")")
  [[ $rc -eq 0 ]] || failed=1
  return $rc
}

main() {
echo "torchgraft GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "host: $(uname -srm), $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
echo "node $(node --version), $(cmake --version | head -1), $(c++ --version | head -1)"
python3 -c 'import torch; print("python3 torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)' || true
echo "LIBTORCH=${LIBTORCH:-} Torch_DIR=${Torch_DIR:-}"
# golden tests and benchmarks compare with Python PyTorch (test/helpers/torch.js takes /usr/bin/python3 unless told)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null && command -v python3 >/dev/null; then export TORCHGRAFT_PYTHON=$(command -v python3); fi
echo "Python PyTorch for golden tests: ${TORCHGRAFT_PYTHON:-/usr/bin/python3}"
[[ -d dist ]] || echo "dist/ is missing: run npm run build:ts here before packing, and carry dist"

# 1. clean build with plain cmake (what a machine without npm does); the loader looks in build/Release
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
rm -rf build
step "configure (plain cmake)" env CCACHE_DISABLE=1 cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
step "clean build" env CCACHE_DISABLE=1 cmake --build build --parallel "$(nproc)"
[[ -f build/torchgraft-build.json ]] && cp build/torchgraft-build.json "$OUT/" && cat build/torchgraft-build.json

# 2. what was built, and CUDA in it
step "addon loads, CUDA on" node -e '
  const tg = require(".");
  const info = { ...tg.buildInfo(), cudaAvailable: tg.cuda.isAvailable(), gpus: tg.cuda.deviceCount(), binary: require("./dist/native.js").bindingFile };
  console.log(JSON.stringify(info, null, 2));
  if (!info.cuda || !info.cudaAvailable) { console.error("expected a CUDA build with a GPU available"); process.exit(1); }
  const x = tg.randn([256, 256], { device: "cuda" });
  console.log("cuda matmul sum:", x.matmul(x).sum().item());'

# 3. the test suite (node --test directly: scripts/run-tests.js needs typescript, a dev dependency not carried);
#    pack.test.js needs npm and the registry, so it runs on the development machine only
mapfile -t tests < <(find test -name '*.test.js' ! -name 'pack.test.js' | sort)
step "tests (CUDA)" node --test --test-reporter=spec "${tests[@]}"

# 4. the CUDA prebuilt binary (stripped, with its manifest), from the build above, for the release to ship
rm -rf "$OUT/prebuilds"
step "CUDA prebuilt binary" node scripts/prebuild.js --from-build --out "$OUT"

# 5. benchmarks, side by side with Python PyTorch
if [[ -f bench/run.js ]]; then
  step "benchmarks" node bench/run.js
  [[ -d bench/results ]] && cp -r bench/results "$OUT/bench-results"
else
  echo "no bench/run.js: benchmarks skipped"
fi

echo
echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
[[ $failed -eq 0 ]] && echo "all steps passed" || echo "some steps FAILED (see above)"
return $failed
}

# a pipe rather than exec > >(tee): the log is complete when the script returns
main 2>&1 | tee "$OUT/gpu-log.txt"
exit "${PIPESTATUS[0]}"
