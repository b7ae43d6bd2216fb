import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { greet } from "greeting";

const require = createRequire(import.meta.url);

export const handler = async () => ({
  statusCode: 200,
  body: JSON.stringify({
    imported: greet("import"),
    required: require("greeting").greet("require"),
    tool: execFileSync("layer-tool").toString().trim(),
  }),
});
