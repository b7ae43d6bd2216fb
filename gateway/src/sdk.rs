//! The AWS SDK config the gateway itself uses (provisioning, SQS pollers).

use crate::config::AwsConfig;

/// Region and endpoint from `[aws]`; credentials from the usual chain, or
/// moto/LocalStack's `test`/`test` when an endpoint is set and none are found.
pub async fn sdk_config(aws: &AwsConfig) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(aws.region.clone()));
    if let Some(endpoint) = &aws.endpoint_url {
        loader = loader.endpoint_url(endpoint);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                "test", "test", None, None, "wsgate",
            ));
        }
    }
    loader.load().await
}

/// The region/account-qualified ARN of a queue, from its URL's last segment.
pub fn queue_arn(aws: &AwsConfig, queue_url: &str) -> String {
    let name = queue_url.rsplit('/').next().unwrap_or(queue_url);
    format!("arn:aws:sqs:{}:{}:{name}", aws.region, aws.account_id)
}
