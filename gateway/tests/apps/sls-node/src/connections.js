const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const {
  DynamoDBDocumentClient,
  PutCommand,
  GetCommand,
  DeleteCommand,
} = require("@aws-sdk/lib-dynamodb");

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const TableName = process.env.TABLE_NAME;

module.exports.connect = async (event) => {
  const { connectionId, authorizer } = event.requestContext;
  await db.send(new PutCommand({ TableName, Item: { connectionId, user: authorizer.principalId } }));
  return { statusCode: 200 };
};

module.exports.disconnect = async (event) => {
  await db.send(new DeleteCommand({ TableName, Key: { connectionId: event.requestContext.connectionId } }));
  return { statusCode: 200 };
};

module.exports.whoami = async (event) => {
  const { connectionId, stage, authorizer } = event.requestContext;
  const { Item } = await db.send(new GetCommand({ TableName, Key: { connectionId } }));
  return {
    statusCode: 200,
    body: JSON.stringify({
      user: Item.user,
      plan: authorizer.plan,
      stage,
      // serverless-offline sets IS_OFFLINE; so does wsgate.
      where: process.env.IS_OFFLINE ? "offline" : "aws",
    }),
  };
};
