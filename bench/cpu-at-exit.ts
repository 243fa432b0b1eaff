// Preloaded into a process the load bench spawns (`node --import .../cpu-at-exit.js`): at
// exit it writes the process's own CPU time (user + system, microseconds) as one stderr
// line, `CMCARD_BENCH_CPU <us>`, which the bench strips from what it shows.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  writeSync(2, `CMCARD_BENCH_CPU ${user + system}\n`);
});
