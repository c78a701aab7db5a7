//! The SAM template: the HTTP API, one function per route with a least-privilege policy
//! each, the table (from the same schema the adapters use), and the queues.

use marquee::routes::{BACKGROUND, Background, Need, ROUTES, Route, Trigger};
use marquee::store::Index;
use marquee::store::schema;
use std::fmt::Write;

/// `movies-list` -> `MoviesListFunction`.
pub fn logical_id(name: &str) -> String {
    let mut id: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    id.push_str("Function");
    id
}

fn needs_any(need: Need) -> bool {
    ROUTES.iter().any(|r| r.needs.contains(&need))
        || BACKGROUND.iter().any(|b| b.needs.contains(&need))
}

const HEADER: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: >-
  Marquee, the online cinema's serverless backend. Generated from the route table by
  `cargo run -p marquee-infra --bin marquee-gen`: edit the generator, not this file.
"#;

fn parameters(out: &mut String) {
    out.push_str(
        r#"
Parameters:
  PublicUrl:
    Type: String
    Description: Base URL of the web client, used in links sent by email.
  MailFrom:
    Type: String
    Description: Sender of every email, e.g. "Marquee <no-reply@example.com>".
  JwtPublicKey:
    Type: String
    Description: Ed25519 public key (SPKI PEM) that verifies access tokens.
  ThrottlingRateLimit:
    Type: Number
    Default: 100
    Description: Steady requests per second the HTTP API accepts.
  ThrottlingBurstLimit:
    Type: Number
    Default: 200
    Description: Burst of requests the HTTP API accepts.
  CorsAllowedOrigins:
    Type: CommaDelimitedList
    Default: ""
    Description: Origins (scheme://host[:port]) whose browser scripts may call the API; empty - the origin of PublicUrl.
"#,
    );
    if needs_any(Need::SendMail) {
        out.push_str(
            r#"  MailIdentity:
    Type: String
    Description: The verified SES identity (domain or address) that MailFrom sends as.
"#,
        );
    }
    if needs_any(Need::StripeKey) {
        out.push_str(
            r#"  StripeSecretKey:
    Type: String
    NoEcho: true
    Description: Stripe secret API key; only functions that create checkouts or refunds receive it.
  CheckoutSuccessUrl:
    Type: String
    Description: Where Stripe sends a buyer after paying; {order_id} is replaced.
  CheckoutCancelUrl:
    Type: String
    Description: Where Stripe sends a buyer who turns back; {order_id} is replaced.
"#,
        );
    }
    if needs_any(Need::StripeWebhookSecret) {
        out.push_str(
            r#"  StripeWebhookSecret:
    Type: String
    NoEcho: true
    Description: The signing secret (whsec_...) of the Stripe webhook endpoint /webhooks/stripe.
"#,
        );
    }
    if needs_any(Need::MfaKey) {
        out.push_str(
            r#"  MfaDataKey:
    Type: String
    NoEcho: true
    Description: 32 random bytes in base64 (openssl rand -base64 32) that seal TOTP seeds; only functions that set or verify codes receive it.
"#,
        );
    }
    if needs_any(Need::OAuthClients) {
        out.push_str(
            r#"  GoogleClientId:
    Type: String
    Default: ""
    Description: OAuth client id of the Google Cloud project (empty turns Google sign-in off).
  FacebookClientId:
    Type: String
    Default: ""
    Description: App id of the Facebook app (empty turns Facebook sign-in off).
  OAuthRedirects:
    Type: String
    Default: ""
    Description: Comma-separated client URLs a provider sign-in may return to (empty - PublicUrl).
  ApiBaseUrl:
    Type: String
    Default: ""
    Description: This API's public base URL (a custom domain, or the ApiUrl output of a first deploy); providers return to <ApiBaseUrl>/auth/oauth/<provider>/callback.
"#,
        );
    }
    if needs_any(Need::OAuthSecrets) {
        out.push_str(
            r#"  GoogleClientSecret:
    Type: String
    Default: ""
    NoEcho: true
    Description: OAuth client secret of the Google client; only the callback function receives it.
  FacebookClientSecret:
    Type: String
    Default: ""
    NoEcho: true
    Description: App secret of the Facebook app; only the callback function receives it.
"#,
        );
    }
    if needs_any(Need::MediaSigningKey) {
        out.push_str(
            r#"  MediaPublicKey:
    Type: String
    Description: The CloudFront public key (PEM, ECDSA P-256 or RSA-2048) whose private half signs feature URLs; `marquee-keys DIR` makes a pair (DIR/media-cdn.pub.pem).
  MediaPrivateKey:
    Type: String
    NoEcho: true
    Description: Its private key (PKCS#8 PEM); only playback-start receives it.
  MediaMaxUploadBytes:
    Type: Number
    Default: 21474836480
    Description: The largest media file a moderator may upload (bytes).
"#,
        );
    }
    if needs_any(Need::SigningKey) {
        out.push_str(
            r#"  JwtPrivateKey:
    Type: String
    NoEcho: true
    Description: Ed25519 private key (PKCS#8 PEM); only functions that issue tokens receive it.
"#,
        );
    }
}

const GLOBALS: &str = r#"
Globals:
  Function:
    Runtime: provided.al2023
    Architectures:
      - arm64
    Handler: bootstrap
    Environment:
      Variables:
        MARQUEE_BACKEND: aws
        MARQUEE_TABLE: !Ref Table
        MARQUEE_EXPIRY_QUEUE_URL: !Ref ExpiryQueue
        MARQUEE_MAIL_QUEUE_URL: !Ref MailQueue
        MARQUEE_MAIL_FROM: !Ref MailFrom
        MARQUEE_PUBLIC_URL: !Ref PublicUrl
        MARQUEE_JWT_PUBLIC_KEY: !Ref JwtPublicKey
"#;

fn table(out: &mut String) {
    out.push_str(
        r#"
  Table:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      BillingMode: PAY_PER_REQUEST
      DeletionProtectionEnabled: true
      PointInTimeRecoverySpecification:
        PointInTimeRecoveryEnabled: true
      SSESpecification:
        SSEEnabled: true
      TimeToLiveSpecification:
"#,
    );
    let _ = writeln!(out, "        AttributeName: {}", schema::TTL);
    out.push_str("        Enabled: true\n      AttributeDefinitions:\n");
    for attr in schema::key_attributes() {
        let _ = writeln!(
            out,
            "        - AttributeName: {attr}\n          AttributeType: S"
        );
    }
    let _ = writeln!(
        out,
        "      KeySchema:\n        - AttributeName: {}\n          KeyType: HASH\n        - AttributeName: {}\n          KeyType: RANGE",
        schema::PK,
        schema::SK
    );
    out.push_str("      GlobalSecondaryIndexes:\n");
    for index in Index::ALL {
        let _ = writeln!(
            out,
            "        - IndexName: {}\n          KeySchema:\n            - AttributeName: {}\n              KeyType: HASH\n            - AttributeName: {}\n              KeyType: RANGE\n          Projection:\n            ProjectionType: ALL",
            index.name(),
            index.pk(),
            index.sk()
        );
    }
}

const CONDITIONS: &str = r#"
Conditions:
  CorsOriginsGiven: !Not [!Equals [!Join ["", !Ref CorsAllowedOrigins], ""]]
"#;

/// The HTTP API, with the CORS policy the router applies locally (`marquee::http::cors`).
fn http_api(out: &mut String) {
    use marquee::http::cors;
    let list = |items: &[&str]| items.join(", ");
    let _ = write!(
        out,
        r#"
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings:
        ThrottlingRateLimit: !Ref ThrottlingRateLimit
        ThrottlingBurstLimit: !Ref ThrottlingBurstLimit
      CorsConfiguration:
        AllowOrigins: !If
          - CorsOriginsGiven
          - !Ref CorsAllowedOrigins
          # PublicUrl's origin: its scheme, "//", and its host up to the first "/".
          - - !Join
              - ""
              - - !Select [0, !Split ["//", !Ref PublicUrl]]
                - "//"
                - !Select [0, !Split ["/", !Select [1, !Split ["//", !Ref PublicUrl]]]]
        AllowMethods: [{}]
        AllowHeaders: [{}]
        ExposeHeaders: [{}]
        AllowCredentials: true
        MaxAge: {}
"#,
        list(cors::METHODS),
        list(cors::ALLOWED_HEADERS),
        list(cors::EXPOSED_HEADERS),
        cors::MAX_AGE_SECS
    );
}

const QUEUES: &str = r#"
  ExpiryQueue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt ExpiryDeadLetterQueue.Arn
        maxReceiveCount: 5

  ExpiryDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
      MessageRetentionPeriod: 1209600

  MailQueue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt MailDeadLetterQueue.Arn
        maxReceiveCount: 5

  MailDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
      MessageRetentionPeriod: 1209600
"#;

fn policy_statements(needs: &[Need]) -> Vec<String> {
    let mut statements = Vec::new();
    // Item actions name the table; a query may read the table or any of its indexes.
    let item_actions: Vec<&str> = needs
        .iter()
        .filter(|need| **need != Need::Query)
        .filter_map(|need| need.table_action())
        .collect();
    if !item_actions.is_empty() {
        statements.push(format!(
            "            - Effect: Allow\n              Action:\n{}\n              Resource: !GetAtt Table.Arn",
            item_actions
                .iter()
                .map(|action| format!("                - {action}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    if needs.contains(&Need::Query) {
        statements.push(
            "            - Effect: Allow\n              Action:\n                - dynamodb:Query\n              Resource:\n                - !GetAtt Table.Arn\n                - !Sub \"${Table.Arn}/index/*\"".into(),
        );
    }
    if needs.contains(&Need::SendMail) {
        statements.push(
            "            - Effect: Allow\n              Action:\n                - ses:SendEmail\n              Resource: !Sub \"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}\"".into(),
        );
    }
    for (need, queue) in [
        (Need::SendExpiryQueue, "ExpiryQueue"),
        (Need::SendMailQueue, "MailQueue"),
    ] {
        if needs.contains(&need) {
            statements.push(format!(
                "            - Effect: Allow\n              Action:\n                - sqs:SendMessage\n              Resource: !GetAtt {queue}.Arn"
            ));
        }
    }
    let media_actions: Vec<&str> = needs.iter().filter_map(|n| n.media_action()).collect();
    if !media_actions.is_empty() {
        // Only the two folders media live in.
        statements.push(format!(
            "            - Effect: Allow\n              Action:\n{}\n              Resource:\n                - !Sub \"${{MediaBucket.Arn}}/features/*\"\n                - !Sub \"${{MediaBucket.Arn}}/trailers/*\"",
            media_actions
                .iter()
                .map(|action| format!("                - {action}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    if needs.contains(&Need::QueryExpiryIndex) {
        statements.push(format!(
            "            - Effect: Allow\n              Action:\n                - dynamodb:Query\n              Resource: !Sub \"${{Table.Arn}}/index/{}\"",
            Index::Expiry.name()
        ));
    }
    statements
}

/// The media settings of a function that touches media files or signs their URLs.
fn media_variables(needs: &[Need]) -> String {
    let mut vars = String::new();
    if needs.iter().any(|n| n.media_action().is_some()) {
        vars.push_str("          MARQUEE_MEDIA_BUCKET: !Ref MediaBucket\n          MARQUEE_MEDIA_MAX_UPLOAD_BYTES: !Ref MediaMaxUploadBytes\n");
    }
    if needs.contains(&Need::MediaSigningKey) {
        vars.push_str("          MARQUEE_MEDIA_CDN_URL: !Sub \"https://${MediaDistribution.DomainName}\"\n          MARQUEE_MEDIA_CDN_KEY_ID: !Ref MediaSigningPublicKey\n          MARQUEE_MEDIA_CDN_PRIVATE_KEY: !Ref MediaPrivateKey\n");
    }
    vars
}

fn policies(out: &mut String, needs: &[Need]) {
    let statements = policy_statements(needs);
    if !statements.is_empty() {
        let _ = write!(
            out,
            "      Policies:\n        - Version: \"2012-10-17\"\n          Statement:\n{}\n",
            statements.join("\n")
        );
    }
}

/// The part every function shares: its binary, description and sizing.
fn function_header(
    out: &mut String,
    name: &str,
    description: &str,
    memory_mb: u32,
    timeout_secs: u32,
) {
    let _ = write!(
        out,
        "
  {id}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {artifacts}/{name}/
      Description: \"{description}\"
      MemorySize: {memory_mb}
      Timeout: {timeout_secs}
",
        id = logical_id(name),
        artifacts = ARTIFACTS,
    );
}

/// Where one `cargo lambda build` leaves every function's `bootstrap`, one folder each;
/// `sam deploy` zips and uploads each function's folder as it is.
pub const ARTIFACTS: &str = "target/lambda";

/// An API function's timeout: above a request's own bound (`DEFAULT_REQUEST_TIMEOUT`), so
/// a slow dependency answers a 503 problem rather than a bare platform error.
pub const API_FUNCTION_TIMEOUT_SECS: u32 = 10;
/// A background function's timeout (a sweep or a queue batch).
pub const BACKGROUND_FUNCTION_TIMEOUT_SECS: u32 = 30;

fn function(out: &mut String, route: &Route) {
    let description = format!(
        "{} {}: {}",
        route.method.as_str(),
        route.path,
        route.summary
    );
    function_header(
        out,
        route.name,
        &description,
        route.memory_mb,
        API_FUNCTION_TIMEOUT_SECS,
    );
    let mut secrets = String::new();
    if route.needs.contains(&Need::SigningKey) {
        secrets.push_str("          MARQUEE_JWT_PRIVATE_KEY: !Ref JwtPrivateKey\n");
    }
    if route.needs.contains(&Need::OAuthClients) {
        secrets.push_str(
            "          MARQUEE_GOOGLE_CLIENT_ID: !Ref GoogleClientId\n          MARQUEE_FACEBOOK_CLIENT_ID: !Ref FacebookClientId\n          MARQUEE_OAUTH_REDIRECTS: !Ref OAuthRedirects\n          MARQUEE_API_URL: !Ref ApiBaseUrl\n",
        );
    }
    if route.needs.contains(&Need::OAuthSecrets) {
        secrets.push_str(
            "          MARQUEE_GOOGLE_CLIENT_SECRET: !Ref GoogleClientSecret\n          MARQUEE_FACEBOOK_CLIENT_SECRET: !Ref FacebookClientSecret\n",
        );
    }
    if route.needs.contains(&Need::MfaKey) {
        secrets.push_str("          MARQUEE_MFA_KEY: !Ref MfaDataKey\n");
    }
    if route.needs.contains(&Need::StripeKey) {
        secrets.push_str(
            "          MARQUEE_STRIPE_SECRET_KEY: !Ref StripeSecretKey\n          MARQUEE_CHECKOUT_SUCCESS_URL: !Ref CheckoutSuccessUrl\n          MARQUEE_CHECKOUT_CANCEL_URL: !Ref CheckoutCancelUrl\n",
        );
    }
    if route.needs.contains(&Need::StripeWebhookSecret) {
        secrets.push_str("          MARQUEE_STRIPE_WEBHOOK_SECRET: !Ref StripeWebhookSecret\n");
    }
    secrets.push_str(&media_variables(route.needs));
    if !secrets.is_empty() {
        let _ = write!(out, "      Environment:\n        Variables:\n{secrets}");
    }
    policies(out, route.needs);
    let _ = write!(
        out,
        "      Events:\n        Api:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Method: {}\n            Path: {}\n",
        route.method.as_str(),
        route.path
    );
}

fn background_function(out: &mut String, function: &Background) {
    function_header(
        out,
        function.name,
        function.summary,
        256,
        BACKGROUND_FUNCTION_TIMEOUT_SECS,
    );
    let media = media_variables(function.needs);
    if !media.is_empty() {
        let _ = write!(out, "      Environment:\n        Variables:\n{media}");
    }
    policies(out, function.needs);
    match function.trigger {
        Trigger::Schedule(expression) => {
            let _ = write!(
                out,
                "      Events:\n        Sweep:\n          Type: Schedule\n          Properties:\n            Schedule: {expression}\n"
            );
        }
        Trigger::ExpiryQueue | Trigger::MailQueue => {
            let queue = match function.trigger {
                Trigger::MailQueue => "MailQueue",
                _ => "ExpiryQueue",
            };
            let _ = write!(
                out,
                "      Events:\n        Queued:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt {queue}.Arn\n            BatchSize: 10\n            FunctionResponseTypes:\n              - ReportBatchItemFailures\n"
            );
        }
    }
}

const OUTPUTS: &str = r#"
Outputs:
  ApiUrl:
    Description: Base URL of the HTTP API.
    Value: !Sub "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
  TableName:
    Description: The DynamoDB table.
    Value: !Ref Table
  ExpiryQueueUrl:
    Description: The queue that feeds the expiry worker.
    Value: !Ref ExpiryQueue
  MailQueueUrl:
    Description: The queue that feeds the mail worker.
    Value: !Ref MailQueue
  MediaBucketName:
    Description: The bucket of media files.
    Value: !Ref MediaBucket
  MediaUrl:
    Description: The CloudFront distribution that plays media.
    Value: !Sub "https://${MediaDistribution.DomainName}"
"#;

/// The media bucket (private, encrypted, parts uploaded from browsers), the CloudFront
/// distribution that reads it through Origin Access Control, and the key group whose key
/// signs feature URLs; trailers are a public path.
fn media(out: &mut String) {
    use marquee::http::cors;
    let _ = write!(
        out,
        r#"
  MediaBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: AES256
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        BlockPublicPolicy: true
        IgnorePublicAcls: true
        RestrictPublicBuckets: true
      OwnershipControls:
        Rules:
          - ObjectOwnership: BucketOwnerEnforced
      CorsConfiguration:
        CorsRules:
          # Moderators' browsers PUT parts to presigned URLs and read each part's ETag.
          - AllowedMethods: [PUT]
            AllowedOrigins: !If
              - CorsOriginsGiven
              - !Ref CorsAllowedOrigins
              - - !Join
                  - ""
                  - - !Select [0, !Split ["//", !Ref PublicUrl]]
                    - "//"
                    - !Select [0, !Split ["/", !Select [1, !Split ["//", !Ref PublicUrl]]]]
            AllowedHeaders: ["content-type", "content-length"]
            ExposedHeaders: [ETag]
            MaxAge: {max_age}
      LifecycleConfiguration:
        Rules:
          # Backs up the expiry sweep, which aborts uploads lapsed after a day.
          - Id: AbortIncompleteUploads
            Status: Enabled
            AbortIncompleteMultipartUpload:
              DaysAfterInitiation: 2

  MediaBucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref MediaBucket
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: ReadByTheDistributionOnly
            Effect: Allow
            Principal:
              Service: cloudfront.amazonaws.com
            Action: s3:GetObject
            Resource: !Sub "${{MediaBucket.Arn}}/*"
            Condition:
              StringEquals:
                AWS:SourceArn: !Sub "arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{MediaDistribution}}"
          - Sid: TlsOnly
            Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource:
              - !GetAtt MediaBucket.Arn
              - !Sub "${{MediaBucket.Arn}}/*"
            Condition:
              Bool:
                aws:SecureTransport: false

  MediaOriginAccessControl:
    Type: AWS::CloudFront::OriginAccessControl
    Properties:
      OriginAccessControlConfig:
        Name: !Sub "${{AWS::StackName}}-media"
        OriginAccessControlOriginType: s3
        SigningBehavior: always
        SigningProtocol: sigv4

  MediaSigningPublicKey:
    Type: AWS::CloudFront::PublicKey
    Properties:
      PublicKeyConfig:
        CallerReference: !Sub "${{AWS::StackName}}-media-key"
        EncodedKey: !Ref MediaPublicKey
        Name: !Sub "${{AWS::StackName}}-media"

  MediaKeyGroup:
    Type: AWS::CloudFront::KeyGroup
    Properties:
      KeyGroupConfig:
        Items:
          - !Ref MediaSigningPublicKey
        Name: !Sub "${{AWS::StackName}}-media"

  MediaDistribution:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Comment: Marquee media - trailers public, features by signed URL
        HttpVersion: http2and3
        PriceClass: PriceClass_100
        Origins:
          - Id: media
            DomainName: !GetAtt MediaBucket.RegionalDomainName
            OriginAccessControlId: !GetAtt MediaOriginAccessControl.Id
            S3OriginConfig:
              OriginAccessIdentity: ""
        # Features: only with a URL signed by the key group's key.
        DefaultCacheBehavior:
          TargetOriginId: media
          ViewerProtocolPolicy: https-only
          AllowedMethods: [GET, HEAD]
          # Managed CachingOptimized: the query (the signature) is not in the cache key.
          CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
          # Managed SimpleCORS: web players on another origin may read.
          ResponseHeadersPolicyId: 60669652-455b-4ae9-85a4-c4c02393f86c
          TrustedKeyGroups:
            - !Ref MediaKeyGroup
        CacheBehaviors:
          - PathPattern: trailers/*
            TargetOriginId: media
            ViewerProtocolPolicy: https-only
            AllowedMethods: [GET, HEAD]
            CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
            ResponseHeadersPolicyId: 60669652-455b-4ae9-85a4-c4c02393f86c
"#,
        max_age = cors::MAX_AGE_SECS
    );
}

pub fn render() -> String {
    let mut out = String::from(HEADER);
    parameters(&mut out);
    out.push_str(CONDITIONS);
    out.push_str(GLOBALS);
    out.push_str("\nResources:");
    http_api(&mut out);
    out.push_str(QUEUES);
    table(&mut out);
    if needs_any(Need::MediaWrite) {
        media(&mut out);
    }
    for route in ROUTES.iter() {
        function(&mut out, route);
    }
    for background in BACKGROUND {
        background_function(&mut out, background);
    }
    out.push_str(OUTPUTS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wait_is_bounded_below_the_function_timeout() {
        use marquee::config::{DEFAULT_AWS_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
        let function = std::time::Duration::from_secs(API_FUNCTION_TIMEOUT_SECS.into());
        assert!(DEFAULT_REQUEST_TIMEOUT < function);
        // A handler's own calls end before the request's bound does.
        assert!(DEFAULT_AWS_TIMEOUT < DEFAULT_REQUEST_TIMEOUT);
        assert!(marquee::payments::stripe::ATTEMPT_TIMEOUT < DEFAULT_REQUEST_TIMEOUT);
        assert!(marquee::auth::oauth::http::CALL_TIMEOUT < DEFAULT_REQUEST_TIMEOUT);
    }

    #[test]
    fn logical_ids_are_pascal_case() {
        assert_eq!(logical_id("health"), "HealthFunction");
        assert_eq!(
            logical_id("auth-password-forgot"),
            "AuthPasswordForgotFunction"
        );
    }
}
