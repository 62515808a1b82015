/** Loads the native addon: the local build, else a prebuilt binary matching the LibTorch found, else one error naming the fixes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { TorchError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Binding = any;

/** Package root (dist/.. or lib/..). */
export const packageRoot = path.resolve(__dirname, '..');

const RTLD_NODELETE = 0x1000; // keeps preloaded LibTorch libraries mapped although they register no module

interface Attempt {
  file: string;
  error: string;
}

/** Where LibTorch's shared libraries live, in the documented order: LIBTORCH, Python PyTorch, the system. */
export function findLibTorch(): { how: string; libDir?: string }[] {
  const found: { how: string; libDir?: string }[] = [];
  if (process.env.LIBTORCH) found.push({ how: `LIBTORCH=${process.env.LIBTORCH}`, libDir: path.join(process.env.LIBTORCH, 'lib') });
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      const dir = execFileSync(py, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 20000,
      }).trim();
      if (dir && fs.existsSync(path.join(dir, 'lib'))) {
        found.push({ how: `Python PyTorch (${py})`, libDir: path.join(dir, 'lib') });
        break;
      }
    } catch {
      // no PyTorch for this interpreter
    }
  }
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    if (fs.existsSync(dir) && fs.readdirSync(dir).some((f) => /^libtorch\.so/.test(f))) {
      found.push({ how: `system LibTorch (${dir})`, libDir: dir });
      break;
    }
  }
  return found;
}

/** Maps a LibTorch's libraries into the process (global symbols) so a prebuilt binary links against them. */
function preload(libDir: string): void {
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const name of ['libc10.so', 'libc10_cuda.so', 'libtorch_cpu.so', 'libtorch_cuda.so', 'libtorch.so']) {
    const file = path.join(libDir, name);
    if (!fs.existsSync(file)) continue;
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, file, flags);
    } catch {
      // "did not self-register" is expected: the library is mapped all the same
    }
  }
}

function prebuiltCandidates(): string[] {
  const dir = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  // one folder per LibTorch variant, e.g. torch-1.13-cpu, torch-2.11-cu130
  for (const variant of fs.readdirSync(dir).sort().reverse()) {
    const vdir = path.join(dir, variant);
    if (!fs.statSync(vdir).isDirectory()) continue;
    for (const f of fs.readdirSync(vdir)) if (f.endsWith('.node')) out.push(path.join(vdir, f));
  }
  return out;
}

function tryLoad(file: string, attempts: Attempt[]): Binding | undefined {
  if (!fs.existsSync(file)) return undefined;
  const mod = { exports: {} } as NodeJS.Module;
  try {
    // RTLD_NOW: a binary built for another LibTorch fails here, not later at its first call.
    process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW);
    return mod.exports;
  } catch (e) {
    attempts.push({ file, error: (e as Error).message.split('\n')[0] });
    return undefined;
  }
}

/** Loads the addon once; throws one error listing what was tried and how to fix it. */
export function loadBinding(): Binding {
  const attempts: Attempt[] = [];
  const local = [
    process.env.TORCHGRAFT_BINARY,
    path.join(packageRoot, 'build', 'Release', 'torchgraft.node'),
  ].filter((f): f is string => !!f);
  for (const f of local) {
    const b = tryLoad(f, attempts);
    if (b) return b;
  }
  const prebuilt = prebuiltCandidates();
  for (const f of prebuilt) {
    const b = tryLoad(f, attempts);
    if (b) return b;
  }
  if (prebuilt.length) {
    for (const lt of findLibTorch()) {
      if (!lt.libDir) continue;
      preload(lt.libDir);
      for (const f of prebuilt) {
        const b = tryLoad(f, attempts);
        if (b) return b;
      }
    }
  }
  const tried = attempts.length
    ? attempts.map((a) => `  - ${path.relative(packageRoot, a.file)}: ${a.error}`).join('\n')
    : '  (no local build and no prebuilt binary for ' + `${process.platform}-${process.arch})`;
  throw new TorchError(
    'torchgraft: could not load the native addon.\nTried:\n' +
      tried +
      '\nFix it in one of these ways:\n' +
      '  - build it from source against the LibTorch found (LIBTORCH, else Python PyTorch, else the system):  npx torchgraft build\n' +
      "  - or allow torchgraft's install script and reinstall:  npm approve-scripts torchgraft && npm rebuild torchgraft\n" +
      '  - and make LibTorch available: set LIBTORCH, install PyTorch for Python, or apt-get install libtorch-dev libopenblas0-pthread',
    { code: 'ERR_NATIVE_LOAD' },
  );
}

/** The loaded addon. */
export const binding: Binding = loadBinding();
binding.setErrorClass(TorchError);
