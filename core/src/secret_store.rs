//! Secrets from AWS Secrets Manager. A deployed function's environment holds no secret:
//! for each secret it may use, it holds `<VARIABLE>_SECRET_ARN`, the ARN of the secret
//! whose value stands for `<VARIABLE>` (for example `MARQUEE_STRIPE_SECRET_KEY_SECRET_ARN`).
//! The values are read once per cold start, all at once, before the app opens, and kept in
//! its configuration; a rotated value reaches each function at its next cold start. The
//! local server and the tools keep their plain variables and data-folder files.

use crate::config::ConfigError;
use std::collections::HashMap;

/// The variables that may be read from Secrets Manager instead of the environment.
pub const SECRET_VARIABLES: [&str; 7] = [
    "MARQUEE_JWT_PRIVATE_KEY",
    "MARQUEE_STRIPE_SECRET_KEY",
    "MARQUEE_STRIPE_WEBHOOK_SECRET",
    "MARQUEE_MFA_KEY",
    "MARQUEE_GOOGLE_CLIENT_SECRET",
    "MARQUEE_FACEBOOK_CLIENT_SECRET",
    "MARQUEE_MEDIA_CDN_PRIVATE_KEY",
];

/// The variable that names the secret standing for `variable`.
pub fn arn_variable(variable: &str) -> String {
    format!("{variable}_SECRET_ARN")
}

/// The secrets named by `lookup`'s `*_SECRET_ARN` variables, read concurrently: variable
/// name to value. Empty when none is named (no call is made).
pub async fn read(
    sdk: &aws_config::SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<HashMap<&'static str, String>, ConfigError> {
    let named: Vec<(&'static str, String)> = SECRET_VARIABLES
        .iter()
        .filter_map(|variable| Some((*variable, lookup(&arn_variable(variable))?)))
        .collect();
    if named.is_empty() {
        return Ok(HashMap::new());
    }
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut reads = tokio::task::JoinSet::new();
    for (variable, arn) in named {
        let client = client.clone();
        reads.spawn(async move {
            let answer = client
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| {
                    ConfigError(format!(
                        "reading {} ({arn}): {}",
                        arn_variable(variable),
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                    ))
                })?;
            let value = answer
                .secret_string()
                .filter(|value| !value.trim().is_empty())
                .ok_or_else(|| {
                    ConfigError(format!(
                        "the secret {arn} ({}) has no text value",
                        arn_variable(variable)
                    ))
                })?;
            Ok::<_, ConfigError>((variable, value.to_string()))
        });
    }
    let mut values = HashMap::new();
    while let Some(read) = reads.join_next().await {
        let (variable, value) =
            read.map_err(|e| ConfigError(format!("reading a secret: {e}")))??;
        values.insert(variable, value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_variable_is_one_the_configuration_reads() {
        let seen = std::sync::Mutex::new(Vec::new());
        let _ = crate::config::Config::from_lookup(|name| {
            seen.lock().unwrap().push(name.to_string());
            None
        });
        let seen = seen.into_inner().unwrap();
        for variable in SECRET_VARIABLES {
            assert!(
                seen.iter().any(|s| s == variable),
                "{variable} is never read"
            );
        }
    }
}
