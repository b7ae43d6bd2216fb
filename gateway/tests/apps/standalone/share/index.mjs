import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));

// Sends every stored note to the connection that asked for them.
export const handler = async (event) => {
  const { connectionId, domainName, stage } = event.requestContext;
  const api = new ApiGatewayManagementApiClient({
    endpoint: `https://${domainName}/${stage}`,
  });
  const { Items = [] } = await ddb.send(new ScanCommand({ TableName: process.env.TABLE }));
  await api.send(
    new PostToConnectionCommand({
      ConnectionId: connectionId,
      Data: JSON.stringify({ notes: Items.map((item) => item.text).sort() }),
    }),
  );
  return { statusCode: 200 };
};
