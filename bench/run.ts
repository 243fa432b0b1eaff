// `npm run bench`: runs every benchmark in bench/ in one process and prints a table.
// Each benchmark compares against a baseline measured in the same run (ratios, not times).
console.log('no benchmarks yet');
