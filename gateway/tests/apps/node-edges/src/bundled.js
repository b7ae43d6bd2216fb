import { createRequire } from "node:module";
import { bundledBy } from "@aws-sdk/client-sns";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

const require = createRequire(import.meta.url);

// The function's own node_modules first (for import and require), the runtime's copy for the rest.
export const handler = async () => ({
  statusCode: 200,
  body: JSON.stringify({
    imported: bundledBy,
    required: require("@aws-sdk/client-sns").bundledBy,
    runtimeSdk: typeof DynamoDBClient,
  }),
});
