// Nest 12 ships ES modules only, and Jest's module sandbox cannot require() them on
// Node 20; jest-light-runner runs these specs in bare Node, which can. There the
// TypeScript specs load through Node's CommonJS loader with swc's require hook, the
// same way `npm start` and the benchmarks run.
import { createRequire, register } from 'node:module';

createRequire(import.meta.url)('@swc-node/register');
register('./ts-as-commonjs.mjs', import.meta.url);
