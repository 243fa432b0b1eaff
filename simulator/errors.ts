/**
 * An error caused by input a person or a file gave us. Its message is one line that
 * names the problem; CLIs print it as is and exit 2.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}
