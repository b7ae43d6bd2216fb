const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} = require("@aws-sdk/client-apigatewaymanagementapi");

const api = new ApiGatewayManagementApiClient({ endpoint: process.env.CALLBACK_URL });

// Each job carries the socket that submitted it as a message attribute.
exports.handler = async (event) => {
  for (const record of event.Records) {
    const connectionId = record.messageAttributes.connectionId.stringValue;
    const job = JSON.parse(record.body);
    const reply = {
      done: job.task,
      group: record.attributes.MessageGroupId,
      requestId: record.messageAttributes.requestId.stringValue,
    };
    await api.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify(reply) }),
    );
  }
};
