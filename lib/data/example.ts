/** What datasets give and loaders yield: examples and batches as tuples of tensors (`[x, y]` by convention). */
import type { Tensor } from '../tensor';

/** One field of an example: a tensor, or a plain number (a label read from a file, say) that collation turns into a tensor. */
export type Field = Tensor | number;

/** One example: its fields in order, `[x, y]` for supervised data, `[x]` for unlabeled data. */
export type Example = Field[];

/** A batch: one tensor per field, each with the batch as its first dimension (`[x, y]`). */
export type Batch = Tensor[];

/** Turns a list of examples into one batch. */
export type Collate = (examples: Example[]) => Batch;
