// Module hook: hand `.ts` files to the CommonJS loader (where @swc-node/register
// compiles them) instead of failing with ERR_UNKNOWN_FILE_EXTENSION.
export async function load(url, context, nextLoad) {
  if (/\.ts(\?.*)?$/.test(url)) return { format: 'commonjs', shortCircuit: true };
  return nextLoad(url, context);
}
