// Loaded before a function's code (NODE_OPTIONS=--import): as Lambda's Node
// runtimes do, bare imports the function's own node_modules do not have are
// looked up in its layers, then in the runtime's folder (which holds the AWS
// SDK). require() finds them through NODE_PATH; ESM imports ignore NODE_PATH,
// hence this hook. WSGATE_NODE_MODULES lists those node_modules folders in order.
import { register } from "node:module";

const dirs = (process.env.WSGATE_NODE_MODULES ?? "").split(":").filter(Boolean);
register("./resolve.mjs", import.meta.url, { data: { dirs } });
