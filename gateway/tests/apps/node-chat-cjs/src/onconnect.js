const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, PutCommand } = require("@aws-sdk/lib-dynamodb");

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));

// A callback handler, as older Node functions are written.
exports.handler = (event, context, callback) => {
  ddb
    .send(
      new PutCommand({
        TableName: process.env.TABLE_NAME,
        Item: { connectionId: event.requestContext.connectionId },
      }),
    )
    .then(() => callback(null, { statusCode: 200, body: "Connected." }))
    .catch((err) => callback(err));
};
