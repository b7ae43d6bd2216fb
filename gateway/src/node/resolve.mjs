// The resolve hook: the function's own resolution first, then each fallback
// node_modules folder in order (layers, then the runtime's copy).
import path from "node:path";
import { pathToFileURL } from "node:url";

let parents = [];

export async function initialize({ dirs }) {
  // Resolving from a file beside a node_modules folder searches that folder.
  parents = dirs.map((dir) => pathToFileURL(path.join(path.dirname(dir), "wsgate-resolve.js")).href);
}

function bare(specifier) {
  return !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !bare(specifier)) throw error;
    for (const parentURL of parents) {
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch {
        // not in this one
      }
    }
    throw error;
  }
}
