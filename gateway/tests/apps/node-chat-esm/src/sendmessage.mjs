import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand, DeleteCommand } from "@aws-sdk/lib-dynamodb";
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const TableName = process.env.TABLE_NAME;

export const handler = async (event) => {
  const { apiId, stage } = event.requestContext;
  const api = new ApiGatewayManagementApiClient({
    endpoint: `https://${apiId}.execute-api.${process.env.AWS_REGION}.amazonaws.com/${stage}`,
  });
  const { Items = [] } = await ddb.send(
    new ScanCommand({ TableName, ProjectionExpression: "connectionId" }),
  );
  const message = JSON.parse(event.body).data;
  await Promise.all(
    Items.map(async ({ connectionId }) => {
      try {
        await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: message }));
      } catch (e) {
        if (e.$metadata?.httpStatusCode === 410) {
          console.log(`Found stale connection, deleting ${connectionId}`);
          await ddb.send(new DeleteCommand({ TableName, Key: { connectionId } }));
        } else {
          throw e;
        }
      }
    }),
  );
  return { statusCode: 200, body: "Data sent." };
};
