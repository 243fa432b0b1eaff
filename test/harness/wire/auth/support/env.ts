/** Sets environment variables for a test file and puts the old values back afterwards. */
export function setEnv(values: Record<string, string>): () => void {
  const old: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(values)) {
    old[k] = process.env[k];
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
