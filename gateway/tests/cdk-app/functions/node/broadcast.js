const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, ScanCommand } = require("@aws-sdk/lib-dynamodb");
const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} = require("@aws-sdk/client-apigatewaymanagementapi");

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const api = new ApiGatewayManagementApiClient({ endpoint: process.env.CALLBACK_URL });

// SQS-triggered: each record's text goes to every open socket.
exports.handler = async (event) => {
  const { Items = [] } = await ddb.send(new ScanCommand({ TableName: process.env.TABLE_NAME }));
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      const { data } = JSON.parse(record.body);
      await Promise.allSettled(
        Items.map(({ connectionId }) =>
          api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })),
        ),
      );
    } catch (e) {
      console.error("cannot broadcast", record.messageId, e);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
