#!/usr/bin/env node
// Finds LibTorch in the documented order (LIBTORCH, then a Python PyTorch, then the system's), the same order as
// CMakeLists.txt; binding.gyp, scripts/prebuild.js and the loader (lib/native.ts) all use it, so they agree.
// A Python PyTorch is a pip/conda install (<site-packages>/torch with lib/ and share/cmake/Torch) of the interpreter
// named by TORCHGRAFT_PYTHON, else of the first python3 on PATH (an activated venv's), else of /usr/bin/python3.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const SYSTEM_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];

const exists = (p) => {
  try {
    fs.accessSync(p);
    return true;
  } catch {
    return false;
  }
};
const read = (p) => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
const hasLib = (dir, name) => exists(dir) && fs.readdirSync(dir).some((f) => f === `${name}.so` || f.startsWith(`${name}.so.`));

/** "1.13.0" from torch/version.h under one of the include folders, or '' when there is none. */
function versionFromHeader(includeDirs) {
  for (const inc of includeDirs) {
    const h = read(path.join(inc, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h')) || read(path.join(inc, 'torch', 'version.h'));
    const part = (k) => (h.match(new RegExp(`#define TORCH_VERSION_${k}\\s+(\\d+)`)) || [])[1];
    if (part('MAJOR') && part('MINOR')) return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH') || 0}`;
  }
  return '';
}

/** "1.13" from a versioned library name (libtorch_cpu.so.1.13, as Debian's are), or '' (a wheel's and a zip's are not). */
function versionFromSonames(libDir) {
  let names;
  try {
    names = fs.readdirSync(libDir);
  } catch {
    return '';
  }
  for (const n of names) {
    const m = n.match(/^lib(?:torch_cpu|torch|c10)\.so\.(\d+\.\d+(?:\.\d+)?)$/);
    if (m) return m[1];
  }
  return '';
}

/** true/false from TorchConfig.cmake's TORCH_CXX_FLAGS, or null when it does not say. */
function cxx11AbiFromConfig(cmakeDirs) {
  for (const d of cmakeDirs) {
    const m = read(path.join(d, 'Torch', 'TorchConfig.cmake')).match(/_GLIBCXX_USE_CXX11_ABI=([01])/);
    if (m) return m[1] === '1';
  }
  return null;
}

/** Completes one found LibTorch: version, CUDA, ABI, and the variant name a prebuilt binary for it carries. */
function describe(found) {
  const out = { ...found };
  if (!out.version) out.version = versionFromHeader(out.includeDirs) || versionFromSonames(out.libDir);
  if (out.cuda === undefined) out.cuda = hasLib(out.libDir, 'libtorch_cuda') ? 'unknown' : null;
  if (out.cxx11Abi === undefined) out.cxx11Abi = cxx11AbiFromConfig(out.cmakeDirs);
  out.variant = variantName(out.version, out.cuda);
  return out;
}

/** torch-1.13-cpu, torch-2.11-cu130, or torch-2.11-cuda when the CUDA version is not known. */
function variantName(version, cuda) {
  const mm = (String(version).match(/^(\d+)\.(\d+)/) || []).slice(1).join('.') || 'unknown';
  if (!cuda) return `torch-${mm}-cpu`;
  const cu = String(cuda).match(/^(\d+)\.(\d+)/);
  return cu ? `torch-${mm}-cu${cu[1]}${cu[2]}` : `torch-${mm}-cuda`;
}

/** Version and CUDA from a Python torch package's version.py ({} when the folder is not one). */
function fromVersionPy(dir) {
  const vpy = read(path.join(dir, 'version.py'));
  if (!vpy) return {};
  return {
    version: (vpy.match(/__version__\s*=\s*['"](\d+\.\d+\.\d+)/) || [])[1] || '',
    cuda: (vpy.match(/^cuda\s*[:=][^'"\n]*['"]([\d.]+)['"]/m) || [])[1] || null,
  };
}

/** A LibTorch folder (lib/, include/, share/cmake/Torch): a LibTorch zip, a Python torch folder, or a copy an app ships. */
function fromFolder(root, source = 'LIBTORCH', how = `LIBTORCH=${root}`) {
  // LibTorch zips carry build-version, e.g. "2.11.0+cu130"; a Python torch folder given as LIBTORCH has version.py
  const bv = read(path.join(root, 'build-version')).trim();
  const m = bv.match(/^(\d+\.\d+\.\d+)[^+]*(?:\+cu(\d+)(\d))?/);
  const py = fromVersionPy(root);
  const hasCuda = hasLib(path.join(root, 'lib'), 'libtorch_cuda');
  return describe({
    source,
    how,
    root,
    includeDirs: [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')],
    libDir: path.join(root, 'lib'),
    cmakeDirs: [path.join(root, 'share', 'cmake')],
    version: m ? m[1] : py.version || '',
    cuda: m && m[2] ? `${m[2]}.${m[3]}` : py.cuda || (hasCuda ? 'unknown' : null),
  });
}

/** The Python interpreters asked for a PyTorch, in order (the same list as CMakeLists.txt's). */
function pythonCandidates() {
  const own = process.env.TORCHGRAFT_PYTHON;
  return [...new Set([...(own ? [own] : []), 'python3', '/usr/bin/python3'])];
}

/** The torch package folder of a Python interpreter, found without importing torch (that takes seconds). */
function pythonTorchDir(py) {
  try {
    return execFileSync(
      py,
      ['-c', "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')"],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20000 },
    ).trim();
  } catch {
    return '';
  }
}

function fromPython(py) {
  const dir = pythonTorchDir(py);
  // torch.utils.cmake_prefix_path is <torch>/share/cmake; CMakeLists.txt takes a Python PyTorch only when it exists
  if (!dir || !exists(path.join(dir, 'share', 'cmake')) || !hasLib(path.join(dir, 'lib'), 'libtorch')) return null;
  const { version = '', cuda = null } = fromVersionPy(dir);
  return describe({
    source: 'python',
    how: `Python PyTorch (${py}): ${dir}`,
    root: dir,
    includeDirs: [path.join(dir, 'include'), path.join(dir, 'include', 'torch', 'csrc', 'api', 'include')],
    libDir: path.join(dir, 'lib'),
    cmakeDirs: [path.join(dir, 'share', 'cmake')],
    version,
    cuda,
  });
}

function fromSystem() {
  for (const dir of SYSTEM_LIB_DIRS) {
    if (!hasLib(dir, 'libtorch')) continue;
    const inc = dir.startsWith('/usr/local') ? '/usr/local/include' : '/usr/include';
    return describe({
      source: 'system',
      how: `system LibTorch (${dir})`,
      root: path.dirname(dir),
      includeDirs: [inc, path.join(inc, 'torch', 'csrc', 'api', 'include')],
      libDir: dir,
      cmakeDirs: [path.join(dir, 'cmake'), path.join(path.dirname(dir), 'share', 'cmake')],
    });
  }
  return null;
}

/** The LibTorch folder LIBTORCH names, or null when it is unset or holds no lib/libtorch (as CMake passes it over). */
function fromLibTorchEnv() {
  const dir = process.env.LIBTORCH;
  return dir && isLibTorchFolder(path.resolve(dir)) ? fromFolder(path.resolve(dir)) : null;
}

/** Whether a folder is laid out like LibTorch: lib/libtorch.so (or a versioned one) inside it. */
function isLibTorchFolder(root) {
  return hasLib(path.join(root, 'lib'), 'libtorch');
}

/**
 * Every LibTorch found, in the documented order; the first is the one a build from source uses.
 * With LIBTORCH set the Python and system ones are still listed (the loader may fall back to them), as in CMake's search.
 */
function findAll() {
  const found = [];
  const env = fromLibTorchEnv();
  if (env) found.push(env);
  for (const py of pythonCandidates()) {
    const p = fromPython(py);
    if (p) {
      found.push(p);
      break;
    }
  }
  const sys = fromSystem();
  if (sys) found.push(sys);
  return found;
}

const NOT_FOUND =
  'torchgraft: LibTorch was not found. Provide it in one of three ways:\n' +
  '  1. set LIBTORCH to an unpacked LibTorch folder (the one holding lib/ and share/cmake/Torch);\n' +
  "  2. install PyTorch for Python (pip install torch), so that `python3 -c 'import torch'` works;\n" +
  '  3. install the system package (Debian/Ubuntu: apt-get install libtorch-dev libopenblas0-pthread).';

/** The LibTorch a build uses; throws the three-ways message when there is none. */
function find() {
  const [first] = findAll();
  if (!first) throw new Error(NOT_FOUND);
  return first;
}

/** What binding.gyp needs, one gyp list per flag (printed space-separated for <!@(...)). */
function gypFlags(lt) {
  const cudaLibs = lt.cuda ? ['-ltorch_cuda', '-lc10_cuda'] : [];
  return {
    // /usr/include is searched anyway; naming it with -I would reorder the compiler's own system headers
    'include-dirs': lt.includeDirs.filter((d) => exists(d) && d !== '/usr/include'),
    // --no-as-needed keeps libtorch_cuda linked although no symbol of it is referenced (it registers the CUDA kernels)
    libraries: [`-L${lt.libDir}`, '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10', ...cudaLibs, '-Wl,--as-needed'],
    // the same rpath form as CMakeLists.txt: found at run time without LD_LIBRARY_PATH
    ldflags: [`-Wl,-rpath,${lt.libDir}`, '-Wl,--disable-new-dtags'],
    defines: [`_GLIBCXX_USE_CXX11_ABI=${lt.cxx11Abi === false ? 0 : 1}`, ...(lt.cuda ? ['TG_WITH_CUDA=1'] : [])],
  };
}

/** What CMakeLists.txt needs: how the LibTorch was found, and the folders for CMAKE_PREFIX_PATH (TorchConfig.cmake). */
function cmakeLines(lt) {
  const prefixes = [lt.root, ...lt.cmakeDirs].filter((d) => d && exists(d));
  return [`${lt.how}`, prefixes.join(';')];
}

module.exports = { findAll, find, fromFolder, fromLibTorchEnv, isLibTorchFolder, pythonCandidates, variantName, gypFlags, cmakeLines, NOT_FOUND };

if (require.main === module) {
  const flag = (process.argv[2] || '--json').replace(/^--/, '');
  let lt;
  try {
    lt = find();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  if (flag === 'json') console.log(JSON.stringify(findAll(), null, 2));
  else if (flag === 'cmake') console.log(cmakeLines(lt).join('\n'));
  else {
    const flags = gypFlags(lt);
    if (!(flag in flags)) {
      console.error(`usage: find-libtorch.js [--json | --cmake | --${Object.keys(flags).join(' | --')}]`);
      process.exit(2);
    }
    console.log(flags[flag].join(' '));
  }
}
