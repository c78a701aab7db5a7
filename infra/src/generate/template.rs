//! The root SAM template: the HTTP API, the table (from the same schema the adapters use),
//! the queues, the media bucket, the alarm topic and dashboard, and the feature stacks.

use marquee::routes::{BACKGROUND, Caching, Need, ROUTES};
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

/// A secret's ARN parameter (the value lives in Secrets Manager, never in the template).
pub struct SecretParameter {
    pub variable: &'static str,
    pub parameter: &'static str,
    pub what: &'static str,
    /// Optional secrets (a sign-in provider not used) may be left empty.
    pub optional: bool,
}

pub const SECRET_PARAMETERS: [SecretParameter; 7] = [
    SecretParameter {
        variable: "MARQUEE_JWT_PRIVATE_KEY",
        parameter: "JwtPrivateKeySecretArn",
        what: "the Ed25519 private key (PKCS#8 PEM) that signs access tokens",
        optional: false,
    },
    SecretParameter {
        variable: "MARQUEE_STRIPE_SECRET_KEY",
        parameter: "StripeSecretKeySecretArn",
        what: "Stripe's secret API key",
        optional: false,
    },
    SecretParameter {
        variable: "MARQUEE_STRIPE_WEBHOOK_SECRET",
        parameter: "StripeWebhookSecretArn",
        what: "the signing secret (whsec_...) of the Stripe webhook endpoint /webhooks/stripe",
        optional: false,
    },
    SecretParameter {
        variable: "MARQUEE_MFA_KEY",
        parameter: "MfaDataKeySecretArn",
        what: "32 random bytes in base64 (openssl rand -base64 32) that seal TOTP seeds",
        optional: false,
    },
    SecretParameter {
        variable: "MARQUEE_GOOGLE_CLIENT_SECRET",
        parameter: "GoogleClientSecretArn",
        what: "the OAuth client secret of the Google client; empty turns Google sign-in off",
        optional: true,
    },
    SecretParameter {
        variable: "MARQUEE_FACEBOOK_CLIENT_SECRET",
        parameter: "FacebookClientSecretArn",
        what: "the app secret of the Facebook app; empty turns Facebook sign-in off",
        optional: true,
    },
    SecretParameter {
        variable: "MARQUEE_MEDIA_CDN_PRIVATE_KEY",
        parameter: "MediaPrivateKeySecretArn",
        what: "the private key (PKCS#8 PEM) of MediaPublicKey, which signs feature URLs",
        optional: false,
    },
];

pub fn secret_parameter(variable: &str) -> &'static SecretParameter {
    SECRET_PARAMETERS
        .iter()
        .find(|s| s.variable == variable)
        .unwrap_or_else(|| panic!("{variable} has no secret parameter"))
}

/// The condition that an optional secret was given.
pub fn given_condition(parameter: &str) -> String {
    format!("{parameter}Given")
}

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
  LogRetentionDays:
    Type: Number
    Default: 30
    AllowedValues: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
    Description: Days every function's and the API's logs are kept.
  AlarmEmail:
    Type: String
    Default: ""
    Description: Where alarms are emailed (the subscription must be confirmed); empty - subscribe to the AlarmTopic output otherwise.
  GradualDeployment:
    Type: String
    Default: Canary10Percent5Minutes
    AllowedValues: [Canary10Percent5Minutes, Canary10Percent10Minutes, Canary10Percent15Minutes, Canary10Percent30Minutes, Linear10PercentEvery1Minute, Linear10PercentEvery2Minutes, Linear10PercentEvery3Minutes, Linear10PercentEvery10Minutes, AllAtOnce]
    Description: How a new version of a critical route (sign-in, refresh, checkout, the Stripe webhook, playback) takes traffic; its alarms roll it back.
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
            r#"  CheckoutSuccessUrl:
    Type: String
    Description: Where Stripe sends a buyer after paying; {order_id} is replaced.
  CheckoutCancelUrl:
    Type: String
    Description: Where Stripe sends a buyer who turns back; {order_id} is replaced.
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
    if needs_any(Need::MediaSigningKey) {
        out.push_str(
            r#"  MediaPublicKey:
    Type: String
    Description: The CloudFront public key (PEM, ECDSA P-256 or RSA-2048) whose private half signs feature URLs; `marquee-keys DIR` makes a pair (DIR/media-cdn.pub.pem).
  MediaMaxUploadBytes:
    Type: Number
    Default: 21474836480
    Description: The largest media file a moderator may upload (bytes).
"#,
        );
    }
    for secret in &SECRET_PARAMETERS {
        let used = ROUTES
            .iter()
            .flat_map(|r| r.needs)
            .any(|n| n.secret_variables().contains(&secret.variable));
        if !used {
            continue;
        }
        let _ = write!(
            out,
            "  {}:\n    Type: String\n{}    AllowedPattern: \"{}\"\n    Description: ARN of the Secrets Manager secret holding {}; only the functions that use it may read it.\n",
            secret.parameter,
            if secret.optional {
                "    Default: \"\"\n"
            } else {
                ""
            },
            if secret.optional {
                "^(arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+)?$"
            } else {
                "^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$"
            },
            secret.what
        );
    }
}

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
      # The catalogue's stream indexer reads the new image of each change.
      StreamSpecification:
        StreamViewType: NEW_IMAGE
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

fn conditions(out: &mut String) {
    out.push_str(
        r#"
Conditions:
  CorsOriginsGiven: !Not [!Equals [!Join ["", !Ref CorsAllowedOrigins], ""]]
  AlarmEmailGiven: !Not [!Equals [!Ref AlarmEmail, ""]]
"#,
    );
}

/// The HTTP API and its one stage, with the CORS policy the router applies locally
/// (`marquee::http::cors`). Plain API Gateway resources, not SAM's: each feature stack adds
/// its own routes to it, and an API imported from an OpenAPI body would drop them at its
/// next update.
fn http_api(out: &mut String) {
    use marquee::http::cors;
    let list = |items: &[&str]| items.join(", ");
    let _ = write!(
        out,
        r#"
  HttpApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: !Ref AWS::StackName
      ProtocolType: HTTP
      CorsConfiguration:
        AllowOrigins: {origins_8}
        AllowMethods: [{methods}]
        AllowHeaders: [{headers}]
        ExposeHeaders: [{exposed}]
        AllowCredentials: true
        MaxAge: {max_age}

  HttpApiStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref HttpApi
      StageName: $default
      AutoDeploy: true
      DefaultRouteSettings:
        ThrottlingRateLimit: !Ref ThrottlingRateLimit
        ThrottlingBurstLimit: !Ref ThrottlingBurstLimit
      AccessLogSettings:
        DestinationArn: !GetAtt ApiAccessLogs.Arn
        Format: '{access_log}'

  ApiAccessLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref LogRetentionDays
"#,
        methods = list(cors::METHODS),
        headers = list(cors::ALLOWED_HEADERS),
        exposed = list(cors::EXPOSED_HEADERS),
        max_age = cors::MAX_AGE_SECS,
        access_log = ACCESS_LOG_FORMAT,
        origins_8 = allowed_origins(8),
    );
}

/// One JSON line per request: what operators search the API's log by. `requestId` is API
/// Gateway's id, which the functions also log as the request's id (`x-request-id`) unless
/// the client sent its own.
pub const ACCESS_LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","method":"$context.httpMethod","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency","integrationError":"$context.integrationErrorMessage","userAgent":"$context.identity.userAgent"}"#;

/// Where alarms go: one topic (encrypted), and an email subscription when one is given.
const ALARM_TOPIC: &str = r#"
  AlarmTopic:
    Type: AWS::SNS::Topic
    Properties:
      KmsMasterKeyId: alias/aws/sns
      DisplayName: Marquee alarms

  AlarmEmailSubscription:
    Type: AWS::SNS::Subscription
    Condition: AlarmEmailGiven
    Metadata:
      cfn-lint:
        config:
          # Email deliveries are retried by SNS; a dead-letter queue of undelivered alarm
          # emails would itself need watching by the alarms it holds.
          ignore_checks: [ES7000]
    Properties:
      TopicArn: !Ref AlarmTopic
      Protocol: email
      Endpoint: !Ref AlarmEmail
"#;

/// The work queues (each with its dead-letter queue) and the job failure queue: where
/// scheduled runs that failed after their retries, and schedule events not delivered, go.
fn queues(out: &mut String) {
    for name in ["Expiry", "Mail"] {
        let _ = write!(
            out,
            r#"
  {name}Queue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt {name}DeadLetterQueue.Arn
        maxReceiveCount: 5
"#
        );
    }
    for id in [
        "ExpiryDeadLetterQueue",
        "MailDeadLetterQueue",
        "JobFailureQueue",
    ] {
        let _ = write!(
            out,
            r#"
  {id}:
    Type: AWS::SQS::Queue
    Metadata:
      cfn-lint:
        config:
          # The last stop: it has no dead-letter queue of its own; an alarm watches its depth.
          ignore_checks: [ES6000]
    Properties:
      SqsManagedSseEnabled: true
      MessageRetentionPeriod: 1209600
"#
        );
    }
    out.push_str(
        r#"
  JobFailureQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues:
        - !Ref JobFailureQueue
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: UndeliveredScheduleEvents
            Effect: Allow
            Principal:
              Service: events.amazonaws.com
            Action: sqs:SendMessage
            Resource: !GetAtt JobFailureQueue.Arn
            Condition:
              StringEquals:
                aws:SourceAccount: !Ref AWS::AccountId
"#,
    );
}

const OUTPUTS: &str = r#"
Outputs:
  ApiUrl:
    Description: Base URL of the HTTP API, straight to API Gateway.
    Value: !Sub "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
  CdnUrl:
    Description: The web app, and the API through CloudFront (public reads kept at the edge); clients use this, and PublicUrl names it (or a domain in front of it).
    Value: !Sub "https://${ApiDistribution.DomainName}"
  TableName:
    Description: The DynamoDB table.
    Value: !Ref Table
  ExpiryQueueUrl:
    Description: The queue that feeds the expiry worker.
    Value: !Ref ExpiryQueue
  MailQueueUrl:
    Description: The queue that feeds the mail worker.
    Value: !Ref MailQueue
  WebBucketName:
    Description: The bucket of the web app's files (docs/deploying.md publishes them).
    Value: !Ref WebBucket
  MediaBucketName:
    Description: The bucket of media files.
    Value: !Ref MediaBucket
  MediaUrl:
    Description: The CloudFront distribution that plays media.
    Value: !Sub "https://${MediaDistribution.DomainName}"
  AlarmTopic:
    Description: The SNS topic every alarm notifies.
    Value: !Ref AlarmTopic
  Dashboard:
    Description: The CloudWatch dashboard.
    Value: !Sub "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${Dashboard}"
"#;

/// A private bucket's policy: `distribution` may read its objects (Origin Access Control),
/// and nothing reaches it without TLS.
fn bucket_policy(bucket: &str, distribution: &str) -> String {
    format!(
        r#"  {bucket}Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref {bucket}
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: ReadByTheDistributionOnly
            Effect: Allow
            Principal:
              Service: cloudfront.amazonaws.com
            Action: s3:GetObject
            Resource: !Sub "${{{bucket}.Arn}}/*"
            Condition:
              StringEquals:
                AWS:SourceArn: !Sub "arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{distribution}}}"
          - Sid: TlsOnly
            Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource:
              - !GetAtt {bucket}.Arn
              - !Sub "${{{bucket}.Arn}}/*"
            Condition:
              Bool:
                aws:SecureTransport: false"#
    )
}

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
{PRIVATE_BUCKET}
      CorsConfiguration:
        CorsRules:
          # Moderators' browsers PUT parts to presigned URLs and read each part's ETag.
          - AllowedMethods: [PUT]
            AllowedOrigins: {origins_12}
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

{media_policy}

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
        max_age = cors::MAX_AGE_SECS,
        origins_12 = allowed_origins(12),
        media_policy = bucket_policy("MediaBucket", "MediaDistribution"),
    );
}

/// A bucket's properties that keep it private: encrypted, no public access, no ACLs.
const PRIVATE_BUCKET: &str = "      BucketEncryption:
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
          - ObjectOwnership: BucketOwnerEnforced";

/// Managed CloudFront policies (their ids are the same in every account).
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER_EXCEPT_HOST_HEADER: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";

/// The API's path patterns on the distribution, one per first path segment of the route
/// table (`/movies*` covers `/movies` and `/movies/...`), each with whether answers under it
/// may be kept: those of the cached routes. Every GET under a kept pattern must be a cached
/// route (a test holds this); other methods pass through. Everything else is the web app.
pub fn api_path_patterns() -> Vec<(String, bool)> {
    let mut patterns: Vec<(String, bool)> = Vec::new();
    for route in ROUTES.iter() {
        let Some(segment) = route.path.split('/').nth(1) else {
            continue;
        };
        let pattern = format!("/{segment}*");
        let kept = matches!(route.caching, Caching::Public { .. });
        match patterns.iter_mut().find(|(p, _)| *p == pattern) {
            Some((_, k)) => *k |= kept,
            None => patterns.push((pattern, kept)),
        }
    }
    patterns.sort();
    patterns
}

/// CloudFront in front of everything a browser loads: the web app's files from their
/// bucket by default, and the API under its paths: public reads answered at the edge under
/// the API's own `Cache-Control` (a cache key of the path and the query only, so one copy
/// serves everyone), everything else passed through uncached with every header but Host.
/// One origin for both, so the app calls the API without CORS and emailed links (the
/// activation and reset pages, the app's screens) work on PublicUrl. CORS is answered by
/// the distribution per viewer for other clients, so a kept answer suits any allowed origin.
fn api_cdn(out: &mut String) {
    use marquee::http::cors;
    let list = |items: &[&str]| items.join(", ");
    let mut behaviours = String::new();
    for (pattern, kept) in api_path_patterns() {
        let (cache_policy, cached_methods) = if kept {
            (
                "!Ref ApiCachePolicy",
                "\n            CachedMethods: [GET, HEAD]",
            )
        } else {
            (CACHING_DISABLED, "")
        };
        let _ = write!(
            behaviours,
            r#"
          - PathPattern: "{pattern}"
            TargetOriginId: api
            ViewerProtocolPolicy: redirect-to-https
            AllowedMethods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]{cached_methods}
            Compress: true
            CachePolicyId: {cache_policy}
            OriginRequestPolicyId: {ALL_VIEWER_EXCEPT_HOST_HEADER}
            ResponseHeadersPolicyId: !Ref ApiResponseHeadersPolicy"#
        );
    }
    let policy = crate::web::content_security_policy(&[
        "https://${MediaDistribution.DomainName}",
        "https://${MediaBucket.RegionalDomainName}",
    ]);
    let _ = write!(
        out,
        r#"
  ApiCachePolicy:
    Type: AWS::CloudFront::CachePolicy
    Properties:
      CachePolicyConfig:
        Name: !Sub "${{AWS::StackName}}-public-reads"
        Comment: Public catalogue reads, kept as their Cache-Control says; keyed on path and query only
        # The API says how long (s-maxage); an answer that says nothing is not kept.
        MinTTL: 0
        DefaultTTL: 0
        MaxTTL: 3600
        ParametersInCacheKeyAndForwardedToOrigin:
          EnableAcceptEncodingGzip: true
          EnableAcceptEncodingBrotli: true
          HeadersConfig:
            HeaderBehavior: none
          CookiesConfig:
            CookieBehavior: none
          # Every parameter: the API refuses (400, never kept) any a route does not list,
          # and movies-list lists more than a whitelist may hold.
          QueryStringsConfig:
            QueryStringBehavior: all

  ApiResponseHeadersPolicy:
    Type: AWS::CloudFront::ResponseHeadersPolicy
    Properties:
      ResponseHeadersPolicyConfig:
        Name: !Sub "${{AWS::StackName}}-api"
        Comment: The API's CORS policy, answered per viewer so kept answers suit every allowed origin
        CorsConfig:
          AccessControlAllowOrigins:
            Items: {origins_12}
          AccessControlAllowMethods:
            Items: [{methods}, OPTIONS]
          AccessControlAllowHeaders:
            Items: [{headers}]
          AccessControlExposeHeaders:
            Items: [{exposed}]
          AccessControlAllowCredentials: true
          AccessControlMaxAgeSec: {max_age}
          OriginOverride: true
        SecurityHeadersConfig:
          ContentTypeOptions:
            Override: true
          StrictTransportSecurity:
            AccessControlMaxAgeSec: 31536000
            IncludeSubdomains: true
            Override: false
          ReferrerPolicy:
            ReferrerPolicy: strict-origin-when-cross-origin
            Override: false

  WebBucket:
    Type: AWS::S3::Bucket
    Properties:
{PRIVATE_BUCKET}

{web_policy}

  WebOriginAccessControl:
    Type: AWS::CloudFront::OriginAccessControl
    Properties:
      OriginAccessControlConfig:
        Name: !Sub "${{AWS::StackName}}-web"
        OriginAccessControlOriginType: s3
        SigningBehavior: always
        SigningProtocol: sigv4

  WebResponseHeadersPolicy:
    Type: AWS::CloudFront::ResponseHeadersPolicy
    Properties:
      ResponseHeadersPolicyConfig:
        Name: !Sub "${{AWS::StackName}}-web"
        Comment: The web app's headers, as the local server sends them
        SecurityHeadersConfig:
          ContentSecurityPolicy:
            ContentSecurityPolicy: !Sub "{policy}"
            Override: true
          ContentTypeOptions:
            Override: true
          FrameOptions:
            FrameOption: DENY
            Override: true
          ReferrerPolicy:
            ReferrerPolicy: no-referrer
            Override: true
          StrictTransportSecurity:
            AccessControlMaxAgeSec: 31536000
            IncludeSubdomains: true
            Override: false

  ApiDistribution:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Comment: Marquee - the web app, and the API with public catalogue reads kept at the edge
        HttpVersion: http2and3
        PriceClass: PriceClass_100
        DefaultRootObject: index.html
        Origins:
          - Id: api
            DomainName: !Sub "${{HttpApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
            CustomOriginConfig:
              OriginProtocolPolicy: https-only
              OriginSSLProtocols: [TLSv1.2]
          - Id: web
            DomainName: !GetAtt WebBucket.RegionalDomainName
            OriginAccessControlId: !GetAtt WebOriginAccessControl.Id
            S3OriginConfig:
              OriginAccessIdentity: ""
        # The web app's files (uploaded with Cache-Control: no-cache, so a new version
        # shows at once; docs/deploying.md).
        DefaultCacheBehavior:
          TargetOriginId: web
          ViewerProtocolPolicy: redirect-to-https
          AllowedMethods: [GET, HEAD]
          Compress: true
          CachePolicyId: {CACHING_OPTIMIZED}
          ResponseHeadersPolicyId: !Ref WebResponseHeadersPolicy
        CacheBehaviors:{behaviours}
"#,
        methods = list(cors::METHODS),
        headers = list(cors::ALLOWED_HEADERS),
        exposed = list(cors::EXPOSED_HEADERS),
        max_age = cors::MAX_AGE_SECS,
        origins_12 = allowed_origins(12),
        web_policy = bucket_policy("WebBucket", "ApiDistribution"),
    );
}

/// The origins browser scripts may call from, as the value of a key indented `indent`
/// spaces: `CorsAllowedOrigins` when given, else PublicUrl's origin (its scheme, "//",
/// and its host up to the first "/").
fn allowed_origins(indent: usize) -> String {
    let pad = " ".repeat(indent);
    [
        "  - CorsOriginsGiven",
        "  - !Ref CorsAllowedOrigins",
        "  - - !Join",
        "      - \"\"",
        "      - - !Select [0, !Split [\"//\", !Ref PublicUrl]]",
        "        - \"//\"",
        "        - !Select [0, !Split [\"/\", !Select [1, !Split [\"//\", !Ref PublicUrl]]]]",
    ]
    .iter()
    .fold("!If".to_string(), |value, line| {
        format!("{value}\n{pad}{line}")
    })
}

/// The root stack: what the features share (the API, the table, the queues, the media
/// bucket and its distribution, the alarm topic, the account-wide alarms and the
/// dashboard) and one nested stack per feature ([`super::stack`]).
pub fn render() -> String {
    let mut out = String::from(HEADER);
    parameters(&mut out);
    conditions(&mut out);
    out.push_str("\nResources:");
    http_api(&mut out);
    api_cdn(&mut out);
    queues(&mut out);
    table(&mut out);
    if needs_any(Need::MediaWrite) {
        media(&mut out);
    }
    out.push_str(ALARM_TOPIC);
    super::alarms::shared_alarms(&mut out);
    super::alarms::dashboard(&mut out);
    for stack in super::stack::STACKS {
        super::stack::nested(&mut out, stack);
    }
    out.push_str(OUTPUTS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_are_pascal_case() {
        assert_eq!(logical_id("health"), "HealthFunction");
        assert_eq!(
            logical_id("auth-password-forgot"),
            "AuthPasswordForgotFunction"
        );
    }
}
