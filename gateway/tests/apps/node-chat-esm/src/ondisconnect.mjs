import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, DeleteCommand } from "@aws-sdk/lib-dynamodb";

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event) => {
  await ddb.send(
    new DeleteCommand({
      TableName: process.env.TABLE_NAME,
      Key: { connectionId: event.requestContext.connectionId },
    }),
  );
  return { statusCode: 200, body: "Disconnected." };
};
