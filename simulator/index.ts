// The simulator library's public entry: `import { VirtualCard, openCardFile } from 'cmcard/simulator'`
// style users start here. Each module keeps one job; this file only re-exports them.
export * from './bytes.js';
export * from './tdes.js';
export * from './diversify.js';
export * from './random.js';
export * from './errors.js';
export * from './iso7816.js';
export * from './validate.js';
export * from './card.js';
export * from './card-file.js';
export { withCardLock, lockPathFor } from './card-lock.js';
export * from './apdu.js';
export * from './gids.js';
export * from './vpcd.js';
