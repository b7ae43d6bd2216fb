const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, ScanCommand } = require("@aws-sdk/lib-dynamodb");
const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs");
const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} = require("@aws-sdk/client-apigatewaymanagementapi");

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const sqs = new SQSClient({});
const api = new ApiGatewayManagementApiClient({ endpoint: process.env.WEBSOCKET_ENDPOINT });

// The socket's message goes through the outbox; the queue's consumer fans it out.
module.exports.enqueue = async (event) => {
  const { text } = JSON.parse(event.body);
  const from = event.requestContext.authorizer.principalId;
  await sqs.send(
    new SendMessageCommand({ QueueUrl: process.env.OUTBOX_URL, MessageBody: JSON.stringify({ from, text }) }),
  );
  return { statusCode: 202 };
};

module.exports.deliver = async (event) => {
  const { Items = [] } = await db.send(new ScanCommand({ TableName: process.env.TABLE_NAME }));
  for (const record of event.Records) {
    await Promise.all(
      Items.map(({ connectionId }) =>
        api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: record.body })),
      ),
    );
  }
};
