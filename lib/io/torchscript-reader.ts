/** The `tg.io.load` reader for TorchScript archives: their parameters and buffers as a state dict. */
import * as fs from 'node:fs';
import { WeightReader } from './registry';
import { loadTorchScriptWeights } from './torchscript-weights';
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

/** The registry entry for TorchScript archives (content only: `.pt` alone says nothing about the kind of zip). */
export const torchScriptReader: WeightReader = {
  format: 'torchscript',
  extensions: [],
  sniff: sniffTorchScript,
  // The weights alone, read as data: no TorchScript is compiled (that is loadTorchScript's job, for running the code).
  read: loadTorchScriptWeights,
};
