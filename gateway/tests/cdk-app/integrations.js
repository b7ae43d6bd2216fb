// A CDK app whose routes reach AWS services without functions in front:
// $connect writes DynamoDB (WebSocketAwsIntegration), $disconnect is a MOCK
// (WebSocketMockIntegration), `order` sends to SQS, whose consumer answers.
// Synthesized the way an app synthesized by code is, without asset metadata:
// functions are found through the assembly's assets manifest.
const path = require("node:path");
const { App, Duration, RemovalPolicy, Stack } = require("aws-cdk-lib");
const dynamodb = require("aws-cdk-lib/aws-dynamodb");
const iam = require("aws-cdk-lib/aws-iam");
const lambda = require("aws-cdk-lib/aws-lambda");
const sqs = require("aws-cdk-lib/aws-sqs");
const { WebSocketApi, WebSocketStage } = require("aws-cdk-lib/aws-apigatewayv2");
const {
  WebSocketAwsIntegration,
  WebSocketMockIntegration,
} = require("aws-cdk-lib/aws-apigatewayv2-integrations");
const { SqsEventSource } = require("aws-cdk-lib/aws-lambda-event-sources");

class OrdersStack extends Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const table = new dynamodb.Table(this, "Connections", {
      partitionKey: { name: "connectionId", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const orders = new sqs.Queue(this, "Orders", { visibilityTimeout: Duration.seconds(30) });
    const role = new iam.Role(this, "ApiGatewayRole", {
      assumedBy: new iam.ServicePrincipal("apigateway.amazonaws.com"),
    });
    table.grantWriteData(role);
    orders.grantSendMessages(role);

    const api = new WebSocketApi(this, "OrdersApi", {
      connectRouteOptions: {
        integration: new WebSocketAwsIntegration("ConnectToTable", {
          integrationUri: `arn:aws:apigateway:${this.region}:dynamodb:action/PutItem`,
          integrationMethod: "POST",
          credentialsRole: role,
          templateSelectionExpression: "\\$default",
          requestTemplates: {
            $default: JSON.stringify({
              TableName: table.tableName,
              Item: { connectionId: { S: "$context.connectionId" } },
            }),
          },
        }),
      },
      disconnectRouteOptions: {
        integration: new WebSocketMockIntegration("Disconnected", {
          requestTemplates: { $default: '{"statusCode": 200}' },
          templateSelectionExpression: "\\$default",
        }),
      },
    });
    api.addRoute("order", {
      integration: new WebSocketAwsIntegration("OrderToQueue", {
        integrationUri: `arn:aws:apigateway:${this.region}:sqs:path/${this.account}/${orders.queueName}`,
        integrationMethod: "POST",
        credentialsRole: role,
        requestParameters: {
          "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
        },
        templateSelectionExpression: "\\$default",
        requestTemplates: {
          $default:
            "Action=SendMessage&MessageAttribute.1.Name=connectionId&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=$context.connectionId&MessageBody=$util.urlEncode($input.body)",
        },
      }),
    });
    const stage = new WebSocketStage(this, "Stage", {
      webSocketApi: api,
      stageName: "live",
      autoDeploy: true,
    });
    const ack = new lambda.Function(this, "Acknowledge", {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: "ack.handler",
      code: lambda.Code.fromAsset(path.join(__dirname, "functions/orders")),
      environment: { CALLBACK_URL: stage.callbackUrl },
    });
    ack.addEventSource(new SqsEventSource(orders, { batchSize: 5 }));
    stage.grantManagementApiAccess(ack);
  }
}

const app = new App({
  outdir: path.join(__dirname, "integrations.out"),
  context: { "aws:cdk:enable-asset-metadata": false },
});
new OrdersStack(app, "OrdersStack");
app.synth();
