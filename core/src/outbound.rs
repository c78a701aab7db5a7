//! The HTTP client for services outside AWS (the sign-in providers, Stripe): hyper on
//! rustls with aws-lc-rs and the webpki roots, the TLS stack the AWS SDK already uses.
//! Every call is bounded: a service that hangs costs at most `CONNECT_TIMEOUT` to connect
//! and `CALL_TIMEOUT` in all, well inside a function's 10 s.

use axum::http;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const CALL_TIMEOUT: Duration = Duration::from_secs(4);
/// The largest answer read (discovery documents, key sets and Stripe's objects are small).
const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the call failed: {0}")]
    Transport(String),
    #[error("the answer was {0}")]
    Status(u16),
    #[error("the answer is not what was expected: {0}")]
    Body(String),
}

pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    pub fn new() -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        // Plain http too: the simulated providers and the tests' stand-ins run on loopback.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends one request and reads the whole answer, whatever its status.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| HttpError::Transport(e.to_string()))?;
            let (parts, body) = response.into_parts();
            let bytes = http_body_util::Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| HttpError::Transport(e.to_string()))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, bytes.to_vec()))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| HttpError::Timeout(CALL_TIMEOUT))?
    }

    /// GETs a JSON document (with a bearer token, for the Graph API).
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, HttpError> {
        let mut request = http::Request::get(url).header(http::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Vec::new())
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(HttpError::Status(response.status().as_u16()));
        }
        serde_json::from_slice(response.body()).map_err(|e| HttpError::Body(e.to_string()))
    }
}
