const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, ScanCommand, DeleteCommand } = require("@aws-sdk/lib-dynamodb");
const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} = require("@aws-sdk/client-apigatewaymanagementapi");

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const TableName = process.env.TABLE_NAME;

exports.handler = async (event) => {
  const { domainName, stage } = event.requestContext;
  const api = new ApiGatewayManagementApiClient({
    apiVersion: "2018-11-29",
    endpoint: "https://" + domainName + "/" + stage,
  });
  const { Items = [] } = await ddb.send(
    new ScanCommand({ TableName, ProjectionExpression: "connectionId" }),
  );
  const postData = JSON.parse(event.body).data;
  const posts = Items.map(async ({ connectionId }) => {
    try {
      await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: postData }));
    } catch (e) {
      if (e.name === "GoneException") {
        console.log(`Found stale connection, deleting ${connectionId}`);
        await ddb.send(new DeleteCommand({ TableName, Key: { connectionId } }));
      } else {
        throw e;
      }
    }
  });
  await Promise.all(posts);
  return { statusCode: 200, body: "Data sent." };
};
