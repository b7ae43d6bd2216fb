// Loaded before a function's code (NODE_OPTIONS=--import): as Lambda's Node
// runtimes provide the AWS SDK, bare imports the function's own node_modules do
// not have are looked up in the runtime's folder. (require() finds it through
// NODE_PATH; ESM imports ignore NODE_PATH, hence this hook.)
import { register } from "node:module";

register("./resolve.mjs", import.meta.url);
