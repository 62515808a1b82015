/** The `tg.io.load` reader for TorchScript archives: their parameters and buffers as a state dict. */
import * as fs from 'node:fs';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { loadTorchScript } from './torchscript';
import { torchZipKind, zipEntryNames } from './zip-names';

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** A zip whose directory has `code/` or `constants.pkl` entries; torch.save zips (data.pkl alone) are left to their reader. */
function sniffTorchScript(head: Uint8Array, size: number, file: string): boolean {
  if (head.length < 4 || ZIP_MAGIC.some((b, i) => head[i] !== b)) return false;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    return torchZipKind(zipEntryNames(fd, size)) === 'torchscript';
  } catch {
    return false; // unreadable here: the registry reports it when the chosen reader opens the file
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Loads the archive and keeps only its tensors (the state dict: parameters, then buffers, by dotted name). */
async function readTorchScriptWeights(file: string): Promise<LoadedWeights> {
  const module = await loadTorchScript(file);
  const sd = module.stateDict();
  // The state dict's tensors share storage with the module's; the module's own handles are not needed.
  module.dispose();
  const names = Object.keys(sd);
  return { format: 'torchscript', names, tensors: recordOf(names.map((n) => [n, sd[n]])), metadata: { typeName: module.typeName } };
}

/** The registry entry for TorchScript archives (content only: `.pt` alone says nothing about the kind of zip). */
export const torchScriptReader: WeightReader = {
  format: 'torchscript',
  extensions: [],
  sniff: sniffTorchScript,
  read: readTorchScriptWeights,
};
