//! The sign-in providers' transport (token exchange, discovery, keys, the Graph API): the
//! core's bounded outbound client, as the OAuth 2 client's.

use std::ops::Deref;

pub use marquee_core::outbound::{CALL_TIMEOUT, CONNECT_TIMEOUT, HttpError};

#[derive(Default)]
pub struct HttpClient(marquee_core::outbound::HttpClient);

impl HttpClient {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Deref for HttpClient {
    type Target = marquee_core::outbound::HttpClient;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.0.send(request))
    }
}
