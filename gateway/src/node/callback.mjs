// Lambda's Node runtimes before nodejs24.x take callback handlers
// (event, context, callback); aws-lambda-ric 4 refuses them. For those runtimes
// wsgate hands the client this module: it loads the function's handler as the
// client would (from LAMBDA_TASK_ROOT, `file.export`) and gives back an async
// handler that settles with the callback, or with the handler's own promise.
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const spec = process.env.WSGATE_HANDLER;
// The function sees its own handler string, as on Lambda.
process.env._HANDLER = spec;
const root = process.env.LAMBDA_TASK_ROOT;
const file = path.basename(spec);
const dot = file.indexOf(".");
const moduleName = file.slice(0, dot);
const exportName = file.slice(dot + 1);
const full = path.resolve(root, spec.slice(0, spec.length - file.length), moduleName);

async function load() {
  for (const extension of ["", ".js", ".mjs", ".cjs"]) {
    const candidate = full + extension;
    if (existsSync(candidate) && statSync(candidate).isFile()) {
      return import(pathToFileURL(candidate).href);
    }
  }
  const require = createRequire(path.join(root, "index.js"));
  return require(require.resolve(moduleName, { paths: [root, path.dirname(full)] }));
}

function find(module) {
  return exportName
    .split(".")
    .reduce((nested, key) => (nested && typeof nested === "object" ? nested[key] : undefined), module);
}

const module = await load();
const found = find(module) ?? find(module?.default);
if (typeof found !== "function") {
  const error = new Error(`${spec} is undefined or not exported`);
  error.name = "Runtime.HandlerNotFound";
  throw error;
}

function settled(userHandler) {
  return (event, context) =>
    new Promise((resolve, reject) => {
      const callback = (error, result) => (error ? reject(error) : resolve(result));
      try {
        const returned = userHandler(event, context, callback);
        if (returned && typeof returned.then === "function") returned.then(resolve, reject);
      } catch (error) {
        reject(error);
      }
    });
}

export const handler = found.length >= 3 ? settled(found) : found;
