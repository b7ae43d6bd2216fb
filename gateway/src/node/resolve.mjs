// The resolve hook: the function's own resolution first, then the runtime's copy.
const runtime = new URL("../package.json", import.meta.url).href;

function bare(specifier) {
  return !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !bare(specifier)) throw error;
    try {
      return await nextResolve(specifier, { ...context, parentURL: runtime });
    } catch {
      throw error;
    }
  }
}
