/** Reads TensorBoard event files back (scalars, histograms, text), checking every record's CRCs. */
import * as fs from 'node:fs';
import { TorchError } from '../../errors';
import { readFields, ProtoField } from './protobuf';
import { readRecords } from './record';

/** One value of an event's summary. */
export interface SummaryValue {
  tag: string;
  /** A scalar's value (simple_value). */
  value?: number;
  /** The plugin named in the value's metadata, if any. */
  plugin?: string;
  /** Whether the value is a histogram. */
  histogram?: boolean;
}

/** One decoded event. */
export interface TensorBoardEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: SummaryValue[];
}

const text = (b: ProtoField['value']) => new TextDecoder().decode(b as Uint8Array);

function fieldsOf(b: ProtoField['value'], where: string): ProtoField[] {
  const f = b instanceof Uint8Array ? readFields(b) : null;
  if (!f) throw new TorchError(`${where}: not a valid event file: a malformed protobuf message`, { code: 'ERR_EVENT_FILE' });
  return f;
}

/** Decodes one Event message. */
export function decodeEvent(data: Uint8Array, where: string): TensorBoardEvent {
  const ev: TensorBoardEvent = { wallTime: 0, step: 0, values: [] };
  for (const f of fieldsOf(data, where)) {
    if (f.field === 1 && f.wire === 1) ev.wallTime = f.value as number;
    else if (f.field === 2 && f.wire === 0) ev.step = Number(BigInt.asIntN(64, f.value as bigint));
    else if (f.field === 3 && f.wire === 2) ev.fileVersion = text(f.value);
    else if (f.field === 5 && f.wire === 2) {
      for (const v of fieldsOf(f.value, where)) {
        if (v.field !== 1 || v.wire !== 2) continue;
        const sv: SummaryValue = { tag: '' };
        for (const g of fieldsOf(v.value, where)) {
          if (g.field === 1 && g.wire === 2) sv.tag = text(g.value);
          else if (g.field === 2 && g.wire === 5) sv.value = g.value as number;
          else if (g.field === 5 && g.wire === 2) sv.histogram = true;
          else if (g.field === 9 && g.wire === 2) {
            const pd = fieldsOf(g.value, where).find((m) => m.field === 1 && m.wire === 2);
            const name = pd && fieldsOf(pd.value, where).find((m) => m.field === 1 && m.wire === 2);
            if (name) sv.plugin = text(name.value);
          }
        }
        ev.values.push(sv);
      }
    }
  }
  return ev;
}

/** Reads every event of an event file; a corrupt file is an ERR_EVENT_FILE error, an unreadable one ERR_IO. */
export async function readEventFile(file: string): Promise<TensorBoardEvent[]> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new TorchError(`cannot read '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
  return readRecords(bytes, file).map((r) => decodeEvent(r, file));
}
