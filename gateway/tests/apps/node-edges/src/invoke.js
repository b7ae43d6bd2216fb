import { LambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";

const lambda = new LambdaClient({});

// Fans work out to a neighbour with a synchronous invoke, as apps do on AWS.
export const handler = async (event) => {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: process.env.HELLO_FUNCTION,
      Payload: JSON.stringify({ body: "from a neighbour" }),
    }),
  );
  const answer = JSON.parse(new TextDecoder().decode(out.Payload));
  return { statusCode: 200, body: `${out.StatusCode} ${answer.body}` };
};
