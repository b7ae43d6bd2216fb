// A CDK app as teams write one: a WebSocket API whose messages go through a queue
// to a broadcaster. Synthesized into cdk.out/ (./synth), which wsgate's tests run.
const path = require("node:path");
const { App, Duration, RemovalPolicy, Stack } = require("aws-cdk-lib");
const dynamodb = require("aws-cdk-lib/aws-dynamodb");
const lambda = require("aws-cdk-lib/aws-lambda");
const sqs = require("aws-cdk-lib/aws-sqs");
const { WebSocketApi, WebSocketStage } = require("aws-cdk-lib/aws-apigatewayv2");
const { WebSocketLambdaIntegration } = require("aws-cdk-lib/aws-apigatewayv2-integrations");
const { SqsEventSource } = require("aws-cdk-lib/aws-lambda-event-sources");

class ChatStack extends Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const table = new dynamodb.Table(this, "Connections", {
      partitionKey: { name: "connectionId", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const queue = new sqs.Queue(this, "Broadcasts", { visibilityTimeout: Duration.seconds(30) });

    const nodeCode = lambda.Code.fromAsset(path.join(__dirname, "functions/node"));
    const node = (id, handler, environment) =>
      new lambda.Function(this, id, {
        runtime: lambda.Runtime.NODEJS_20_X,
        handler,
        code: nodeCode,
        timeout: Duration.seconds(10),
        environment: { TABLE_NAME: table.tableName, ...environment },
      });
    const connect = node("Connect", "connect.handler");
    const disconnect = node("Disconnect", "disconnect.handler");
    const send = new lambda.Function(this, "SendMessage", {
      runtime: lambda.Runtime.PYTHON_3_11,
      handler: "send.handler",
      code: lambda.Code.fromAsset(path.join(__dirname, "functions/python")),
      environment: { QUEUE_URL: queue.queueUrl },
    });

    const api = new WebSocketApi(this, "ChatApi", {
      connectRouteOptions: { integration: new WebSocketLambdaIntegration("ConnectIntegration", connect) },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration("DisconnectIntegration", disconnect),
      },
    });
    api.addRoute("sendmessage", {
      integration: new WebSocketLambdaIntegration("SendIntegration", send),
    });
    const stage = new WebSocketStage(this, "Stage", {
      webSocketApi: api,
      stageName: "dev",
      autoDeploy: true,
    });

    const broadcast = node("Broadcast", "broadcast.handler", { CALLBACK_URL: stage.callbackUrl });
    broadcast.addEventSource(new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }));

    table.grantReadWriteData(connect);
    table.grantReadWriteData(disconnect);
    table.grantReadWriteData(broadcast);
    queue.grantSendMessages(send);
    stage.grantManagementApiAccess(broadcast);
  }
}

// What `cdk synth` turns on by default: asset and path metadata, version reporting.
const app = new App({
  outdir: path.join(__dirname, "cdk.out"),
  context: {
    "aws:cdk:enable-asset-metadata": true,
    "aws:cdk:enable-path-metadata": true,
    "aws:cdk:version-reporting": true,
  },
});
new ChatStack(app, "ChatStack");
app.synth();
