/** tg.datasets: data bundled with the package. */
export { loadDigits, digitCount } from './mnist';
export type { DigitSet, LoadDigitsOptions } from './mnist';
