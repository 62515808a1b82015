/** tg.nn: functional ops now; modules, layers, losses and init join here. */
export * as functional from './functional';
export * as utils from './utils';
