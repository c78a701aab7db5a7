//! What a route of the table is: each feature crate declares its slice of routes with
//! these types, and the assembly (`marquee::routes`) joins the slices. The local server's
//! router, each Lambda binary, the SAM functions and their events, the `cargo lambda watch`
//! router, the OpenAPI document and the authorisation checks are derived from the table.

use crate::app::App;
use crate::http::guard::Access;
use axum::routing::{MethodFilter, MethodRouter};
use std::borrow::Cow;
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    pub fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// What a route's function may touch in AWS; its IAM policy grants exactly these. The
/// DynamoDB actions are the ones its code performs: a test records what every function
/// does across the test runs and fails when a policy grants more or less (`marquee_core::usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    GetItem,
    BatchGetItem,
    /// On the table itself.
    Query,
    /// On the table's indexes (GSI1 to GSI5).
    QueryIndexes,
    PutItem,
    UpdateItem,
    DeleteItem,
    /// A condition on another item of a transaction.
    ConditionCheckItem,
    BatchWriteItem,
    SendMail,
    /// Queue due items for the expiry worker.
    SendExpiryQueue,
    /// Queue mail jobs for the mail worker.
    SendMailQueue,
    /// Queries on the EXPIRY index only (the expiry scheduler).
    QueryExpiryIndex,
    /// The private key that signs access tokens.
    SigningKey,
    /// Stripe's secret API key (checkouts, refunds).
    StripeKey,
    /// The Stripe webhook endpoint's signing secret.
    StripeWebhookSecret,
    /// The data key that seals TOTP seeds (functions that set or verify codes).
    MfaKey,
    /// The sign-in providers' client ids (public).
    OAuthClients,
    /// The sign-in providers' client secrets (the code exchange).
    OAuthSecrets,
    /// Media files: start, sign parts of and complete multipart uploads, put whole files
    /// (`s3:PutObject` on the media prefixes).
    MediaWrite,
    /// Media files: read their size and boxes (`s3:GetObject`).
    MediaRead,
    /// Media files: remove them (`s3:DeleteObject`).
    MediaDelete,
    /// Media uploads: abort unfinished ones (`s3:AbortMultipartUpload`).
    MediaAbort,
    /// The CloudFront key that signs feature URLs.
    MediaSigningKey,
}

impl Need {
    /// The DynamoDB action this need grants, if it is one.
    pub fn table_action(self) -> Option<&'static str> {
        Some(match self {
            Self::GetItem => "dynamodb:GetItem",
            Self::BatchGetItem => "dynamodb:BatchGetItem",
            Self::Query | Self::QueryIndexes => "dynamodb:Query",
            Self::PutItem => "dynamodb:PutItem",
            Self::UpdateItem => "dynamodb:UpdateItem",
            Self::DeleteItem => "dynamodb:DeleteItem",
            Self::ConditionCheckItem => "dynamodb:ConditionCheckItem",
            Self::BatchWriteItem => "dynamodb:BatchWriteItem",
            _ => return None,
        })
    }

    /// The S3 action on the media bucket this need grants, if it is one.
    pub fn media_action(self) -> Option<&'static str> {
        Some(match self {
            Self::MediaWrite => "s3:PutObject",
            Self::MediaRead => "s3:GetObject",
            Self::MediaDelete => "s3:DeleteObject",
            Self::MediaAbort => "s3:AbortMultipartUpload",
            _ => return None,
        })
    }

    /// The secrets this need reads (their variables; deployed, each comes from Secrets
    /// Manager through `<variable>_SECRET_ARN`, see [`crate::secret_store`]).
    pub fn secret_variables(self) -> &'static [&'static str] {
        match self {
            Self::SigningKey => &["MARQUEE_JWT_PRIVATE_KEY"],
            Self::StripeKey => &["MARQUEE_STRIPE_SECRET_KEY"],
            Self::StripeWebhookSecret => &["MARQUEE_STRIPE_WEBHOOK_SECRET"],
            Self::MfaKey => &["MARQUEE_MFA_KEY"],
            Self::OAuthSecrets => &[
                "MARQUEE_GOOGLE_CLIENT_SECRET",
                "MARQUEE_FACEBOOK_CLIENT_SECRET",
            ],
            Self::MediaSigningKey => &["MARQUEE_MEDIA_CDN_PRIVATE_KEY"],
            _ => &[],
        }
    }
}

/// Whether a function with these needs reads secrets (and so links the Secrets Manager
/// client).
pub fn reads_secrets(needs: &[Need]) -> bool {
    needs.iter().any(|need| !need.secret_variables().is_empty())
}

/// A JSON body documented in the OpenAPI document.
#[derive(Clone, Copy)]
pub struct Body {
    pub name: fn() -> Cow<'static, str>,
    pub register: fn(ComponentsBuilder) -> ComponentsBuilder,
}

pub const fn body<T: ToSchema>() -> Option<Body> {
    Some(Body {
        name: T::name,
        register: register_with_nested::<T>,
    })
}

/// `T`'s schema and every schema it refers to, however deep (a body's fields' types).
pub fn register_with_nested<T: ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    components.schema_from::<T>().schemas_from_iter(nested)
}

#[derive(Clone, Copy)]
pub struct Route {
    /// Also the Lambda binary and SAM function name.
    pub name: &'static str,
    pub method: Method,
    /// API Gateway syntax: `/movies/{id}`.
    pub path: &'static str,
    pub access: Access,
    /// The feature the route belongs to (an OpenAPI tag).
    pub tag: &'static str,
    pub summary: &'static str,
    /// The status of a successful answer.
    pub status: u16,
    /// The media type of a successful answer.
    pub media: &'static str,
    pub request: Option<Body>,
    pub response: Option<Body>,
    /// Optional query parameters.
    pub query: &'static [&'static str],
    pub needs: &'static [Need],
    /// Refusals of its own beyond those its access and method imply (a public route that
    /// asks some callers to sign in), as (status, when) for the OpenAPI document.
    pub refusals: &'static [(u16, &'static str)],
    /// Lambda memory; CPU grows with it, which password hashing needs.
    pub memory_mb: u32,
    /// Whether browsers and the CDN may keep its answers.
    pub caching: Caching,
    pub handler: fn(MethodFilter) -> MethodRouter<App>,
}

impl Route {
    /// Path parameter names, in order.
    pub fn params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .collect()
    }
}

pub const JSON: &str = "application/json";

/// Whether browsers and the CDN may keep a route's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Personal, or a change: `Cache-Control: private, no-store`.
    Private,
    /// The same for every caller: browsers keep a success `max_age` seconds, the CDN
    /// `shared_max_age`, and either may answer with it `stale_while_revalidate` seconds
    /// longer while it asks again. It carries a strong `ETag`; a matching
    /// `If-None-Match` is answered 304.
    Public {
        max_age: u32,
        shared_max_age: u32,
        stale_while_revalidate: u32,
    },
}

impl Caching {
    /// What changes with every click (counts, order, seats left): lists follow a change
    /// within 5 s, so a kept copy may be at most 3 s old (2 s, and 1 s more served stale
    /// while the CDN asks again), beside the stream's second or two.
    pub const LIVE: Caching = Caching::Public {
        max_age: 2,
        shared_max_age: 2,
        stale_while_revalidate: 1,
    };
    /// What a moderator changes now and then (names, cinemas, their pages of movies): a
    /// minute, and one more served stale while the CDN asks again.
    pub const EDITED: Caching = Caching::Public {
        max_age: 60,
        shared_max_age: 60,
        stale_while_revalidate: 60,
    };

    /// The `Cache-Control` value of a success.
    pub fn header(self) -> String {
        match self {
            Caching::Private => "private, no-store".to_string(),
            Caching::Public {
                max_age,
                shared_max_age,
                stale_while_revalidate,
            } => format!(
                "public, max-age={max_age}, s-maxage={shared_max_age}, stale-while-revalidate={stale_while_revalidate}"
            ),
        }
    }
}

/// A route with the usual defaults: 200, JSON, no body documented, no AWS needs.
pub const fn route(
    name: &'static str,
    method: Method,
    path: &'static str,
    access: Access,
    tag: &'static str,
    summary: &'static str,
    handler: fn(MethodFilter) -> MethodRouter<App>,
) -> Route {
    Route {
        name,
        method,
        path,
        access,
        tag,
        summary,
        status: 200,
        media: JSON,
        request: None,
        response: None,
        query: &[],
        needs: &[],
        refusals: &[],
        memory_mb: 256,
        caching: Caching::Private,
        handler,
    }
}

impl Route {
    pub const fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub const fn media(mut self, media: &'static str) -> Self {
        self.media = media;
        self
    }

    pub const fn takes(mut self, request: Option<Body>) -> Self {
        self.request = request;
        self
    }

    pub const fn gives(mut self, response: Option<Body>) -> Self {
        self.response = response;
        self
    }

    pub const fn query(mut self, query: &'static [&'static str]) -> Self {
        self.query = query;
        self
    }

    pub const fn refuses(mut self, refusals: &'static [(u16, &'static str)]) -> Self {
        self.refusals = refusals;
        self
    }

    pub const fn needs(mut self, needs: &'static [Need]) -> Self {
        self.needs = needs;
        self
    }

    /// For public reads whose answer is the same for every caller.
    pub const fn cached(mut self, caching: Caching) -> Self {
        self.caching = caching;
        self
    }

    /// For routes that hash passwords (argon2id, 19 MiB, CPU-bound).
    pub const fn hashes_passwords(mut self) -> Self {
        self.memory_mb = 1024;
        self
    }
}

/// The adapters a function adds to the app beyond the table, from its needs: SES where it
/// sends mail, SQS where it queues. Its generated `main` calls exactly these `App` methods,
/// so its binary links no other client.
pub fn wiring(needs: &[Need]) -> Vec<&'static str> {
    let mut calls = Vec::new();
    if needs.contains(&Need::SendMail) {
        calls.push("with_ses_mailer");
    }
    if needs.contains(&Need::SendMailQueue) || needs.contains(&Need::SendExpiryQueue) {
        calls.push("with_sqs_queues");
    }
    calls
}

/// Every adapter [`wiring`] may name.
pub const ADAPTERS: [&str; 2] = ["with_ses_mailer", "with_sqs_queues"];

/// What starts a background function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An EventBridge schedule expression.
    Schedule(&'static str),
    /// Messages on the expiry queue.
    ExpiryQueue,
    /// Messages on the mail queue.
    MailQueue,
    /// The table's stream, filtered to movies marked for the index.
    TableStream,
}

/// A function that no HTTP route reaches.
#[derive(Debug, Clone, Copy)]
pub struct Background {
    pub name: &'static str,
    pub summary: &'static str,
    pub trigger: Trigger,
    pub needs: &'static [Need],
    /// The function in `crate::lambda` its binary calls.
    pub entry: &'static str,
}
