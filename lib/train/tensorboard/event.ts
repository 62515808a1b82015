/** TensorBoard's Event protobuf messages (event.proto, summary.proto, the hparams plugin's), encoded by hand. */
import { ProtoWriter } from './protobuf';
import type { Histogram } from './histogram';

/** The first event of every file: file_version "brain.Event:2". */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter().double(1, wallTime).int(2, 0).bytes(3, 'brain.Event:2').finish();
}

function summaryEvent(wallTime: number, step: number, value: ProtoWriter): Uint8Array {
  // Event{wall_time=1, step=2, summary=5{value=1}}
  return new ProtoWriter().double(1, wallTime).int(2, step).bytes(5, new ProtoWriter().bytes(1, value)).finish();
}

function metadata(plugin: string, content?: Uint8Array): ProtoWriter {
  // SummaryMetadata{plugin_data=1{plugin_name=1, content=2}}
  const data = new ProtoWriter().bytes(1, plugin);
  if (content) data.bytes(2, content);
  return new ProtoWriter().bytes(1, data);
}

/** A scalar: Summary.Value{tag=1, simple_value=2}. */
export function scalarEvent(wallTime: number, step: number, tag: string, value: number): Uint8Array {
  return summaryEvent(wallTime, step, new ProtoWriter().bytes(1, tag).float(2, value));
}

/** A histogram: Summary.Value{tag=1, histo=5 HistogramProto{min, max, num, sum, sum_squares, bucket_limit, bucket}}. */
export function histogramEvent(wallTime: number, step: number, tag: string, h: Histogram): Uint8Array {
  const histo = new ProtoWriter()
    .double(1, h.min)
    .double(2, h.max)
    .double(3, h.num)
    .double(4, h.sum)
    .double(5, h.sumSquares)
    .packedDoubles(6, h.bucketLimit)
    .packedDoubles(7, h.bucket);
  return summaryEvent(wallTime, step, new ProtoWriter().bytes(1, tag).bytes(5, histo));
}

/** A text summary (the text plugin): a scalar DT_STRING tensor, markdown rendered by TensorBoard. */
export function textEvent(wallTime: number, step: number, tag: string, text: string): Uint8Array {
  // TensorProto{dtype=1: DT_STRING (7), tensor_shape=2 (scalar: empty), string_val=8}
  const tensor = new ProtoWriter().int(1, 7).bytes(2, new Uint8Array(0)).bytes(8, text);
  return summaryEvent(wallTime, step, new ProtoWriter().bytes(1, tag).bytes(9, metadata('text')).bytes(8, tensor));
}

/** A hyperparameter value: google.protobuf.Value{number_value=2 | string_value=3 | bool_value=4}. */
function protoValue(v: number | string | boolean): ProtoWriter {
  const w = new ProtoWriter();
  if (typeof v === 'number') return w.double(2, v);
  if (typeof v === 'boolean') return w.int(4, v ? 1 : 0);
  return w.bytes(3, v);
}

function hparamsEvent(wallTime: number, tag: string, field: number, info: ProtoWriter): Uint8Array {
  // HParamsPluginData{version=1: 0, session_start_info=3 | session_end_info=4} in the metadata; the value is an empty string tensor
  const content = new ProtoWriter().int(1, 0).bytes(field, info).finish();
  const tensor = new ProtoWriter().int(1, 7).bytes(2, new Uint8Array(0)).bytes(8, '');
  return summaryEvent(wallTime, 0, new ProtoWriter().bytes(1, tag).bytes(9, metadata('hparams', content)).bytes(8, tensor));
}

/** The hparams plugin's session start: SessionStartInfo{hparams=1 map<string, Value>, start_time_secs=5}, tag `_hparams_/session_start_info`. */
export function hparamsStartEvent(wallTime: number, hparams: Record<string, number | string | boolean>): Uint8Array {
  const info = new ProtoWriter();
  for (const [k, v] of Object.entries(hparams)) info.bytes(1, new ProtoWriter().bytes(1, k).bytes(2, protoValue(v)));
  info.double(5, wallTime);
  return hparamsEvent(wallTime, '_hparams_/session_start_info', 3, info);
}

/** The hparams plugin's session end: SessionEndInfo{status=1: STATUS_SUCCESS (1), end_time_secs=2}. */
export function hparamsEndEvent(wallTime: number): Uint8Array {
  const info = new ProtoWriter().int(1, 1).double(2, wallTime);
  return hparamsEvent(wallTime, '_hparams_/session_end_info', 4, info);
}
