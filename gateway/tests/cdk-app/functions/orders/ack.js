// Acknowledges each order to the socket that placed it (a message attribute).
const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} = require("@aws-sdk/client-apigatewaymanagementapi");

const api = new ApiGatewayManagementApiClient({ endpoint: process.env.CALLBACK_URL });

exports.handler = async (event) => {
  for (const record of event.Records) {
    const order = JSON.parse(record.body);
    await api.send(
      new PostToConnectionCommand({
        ConnectionId: record.messageAttributes.connectionId.stringValue,
        Data: JSON.stringify({ accepted: order.item, quantity: order.quantity }),
      }),
    );
  }
};
