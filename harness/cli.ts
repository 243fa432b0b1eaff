#!/usr/bin/env node
// The cmcard bin. It turns Node's compile cache on before loading the program (Node 22.1
// and later; Node 20 has none): later starts then skip compiling cmcard's modules again.
// The cache is Node's own (in the temporary folder; NODE_COMPILE_CACHE moves it and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off) and is checked against each file's contents.
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { main } = await import('./cli-program.js');
await main();
