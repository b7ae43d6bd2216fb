// A REQUEST authorizer: the token in the query string says who connects.
exports.handler = async (event) => {
  const token = event.queryStringParameters?.token;
  if (!token || !token.startsWith("user-")) {
    throw new Error("Unauthorized");
  }
  return {
    principalId: token.slice("user-".length),
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: event.methodArn }],
    },
    context: { plan: "free" },
  };
};
