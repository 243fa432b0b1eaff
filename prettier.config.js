// One formatting for the repo. The width matches how the code was written (long, flat
// lines rather than deep wrapping); single quotes and trailing commas as everywhere.
export default {
  printWidth: 160,
  singleQuote: true,
  trailingComma: 'all',
  arrowParens: 'always',
};
