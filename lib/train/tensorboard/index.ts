/** TensorBoard event files: the fit callback that writes them and the reader that plots them. */
export { TensorBoard } from './callback';
export type { TensorBoardOptions, HParamValue } from './callback';
export { readEventFile } from './event-reader';
export type { TensorBoardEvent, SummaryValue } from './event-reader';
export { crc32c, maskedCrc32c } from '../../io/crc32c';
