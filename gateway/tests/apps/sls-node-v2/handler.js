// An older service: it bundles the AWS SDK for JavaScript v2 and configures no
// endpoints, so its calls go to AWS's own host names.
const AWS = require("aws-sdk");

const db = new AWS.DynamoDB.DocumentClient();
const TableName = process.env.CONNECTIONS_TABLE;

module.exports.connect = async (event) => {
  await db.put({ TableName, Item: { connectionId: event.requestContext.connectionId } }).promise();
  return { statusCode: 200, body: "Connected" };
};

module.exports.disconnect = async (event) => {
  await db.delete({ TableName, Key: { connectionId: event.requestContext.connectionId } }).promise();
  return { statusCode: 200, body: "Disconnected" };
};

module.exports.say = async (event) => {
  const { domainName, stage } = event.requestContext;
  // SDK v2's way: the endpoint without a scheme.
  const api = new AWS.ApiGatewayManagementApi({ apiVersion: "2018-11-29", endpoint: `${domainName}/${stage}` });
  const { Items } = await db.scan({ TableName, ProjectionExpression: "connectionId" }).promise();
  const text = JSON.parse(event.body).text;
  await Promise.all(
    Items.map(({ connectionId }) => api.postToConnection({ ConnectionId: connectionId, Data: text }).promise()),
  );
  return { statusCode: 200 };
};
