//! The HTTPS client of every AWS call (DynamoDB, SQS, SES): the SDK's own hyper client on
//! rustls with aws-lc-rs, trusting Amazon's roots instead of the system's store.
//!
//! AWS service endpoints present Amazon Trust Services certificates. Those chain to Amazon
//! Root CA 1 to 4, or, cross-signed, to Starfield Services Root Certificate Authority - G2.
//! Trusting those five (compiled in) and nothing else has two effects:
//! - no authority outside Amazon can vouch for a DynamoDB, SQS or SES endpoint;
//! - a cold start parses five certificates instead of the ~140 of the system bundle, which
//!   was a third of a function's init (README "Cold start").
//!
//! `AWS_CA_BUNDLE` (the AWS CLI's setting) names a PEM bundle to trust instead. That covers
//! a stand-in behind its own authority, a network that inspects TLS, or the system store
//! itself.

use crate::config::ConfigError;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use webpki::anchor_from_trusted_cert;

/// Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority - G2, as
/// Mozilla's root program carries them.
const AMAZON_ROOTS: &str = include_str!("../certs/amazon-roots.pem");

/// The client for the SDK's configuration: Amazon's roots, or the bundle at `bundle`.
pub fn https_client(bundle: Option<&Path>) -> Result<SharedHttpClient, ConfigError> {
    let roots = match bundle {
        None => AMAZON_ROOTS.as_bytes().to_vec(),
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| {
                ConfigError(format!(
                    "AWS_CA_BUNDLE: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            usable_roots(&text)
                .map_err(|e| ConfigError(format!("AWS_CA_BUNDLE: {}: {e}", path.display())))?
        }
    };
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(roots))
        .build()
        .map_err(|e| ConfigError(format!("the AWS TLS settings: {e}")))?;
    // As the SDK's default client, with the trust store as the only change.
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .tls_context(context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}

/// The certificates of a PEM bundle that can serve as roots, as PEM again. The SDK panics
/// on a certificate it cannot use as a root; a system bundle may hold one, and a function
/// should start without it, not stop.
fn usable_roots(bundle: &[u8]) -> Result<Vec<u8>, String> {
    let mut usable = String::new();
    let mut skipped = 0;
    for cert in CertificateDer::pem_slice_iter(bundle) {
        let cert = cert.map_err(|e| format!("not a PEM bundle: {e}"))?;
        if anchor_from_trusted_cert(&cert).is_err() {
            skipped += 1;
            continue;
        }
        usable.push_str("-----BEGIN CERTIFICATE-----\n");
        usable.push_str(&base64::engine::general_purpose::STANDARD.encode(cert.as_ref()));
        usable.push_str("\n-----END CERTIFICATE-----\n");
    }
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "AWS_CA_BUNDLE: certificates that cannot be roots left out"
        );
    }
    if usable.is_empty() {
        return Err("no certificate in it can be a root".into());
    }
    Ok(usable.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The compiled-in roots are exactly five of Mozilla's: each one's subject and key are
    /// those of an entry of the webpki-roots crate, Mozilla's program as data.
    #[test]
    fn the_compiled_in_roots_are_amazons_five_from_mozillas_program() {
        let roots = certificates(AMAZON_ROOTS.as_bytes());
        assert_eq!(roots.len(), 5);
        let mut names = Vec::new();
        for cert in &roots {
            let anchor = anchor_from_trusted_cert(cert).unwrap();
            let mozilla = webpki_roots::TLS_SERVER_ROOTS
                .iter()
                .find(|known| known.subject.as_ref() == anchor.subject.as_ref())
                .expect("a root of Mozilla's program");
            assert_eq!(
                mozilla.subject_public_key_info.as_ref(),
                anchor.subject_public_key_info.as_ref()
            );
            names.push(String::from_utf8_lossy(anchor.subject.as_ref()).into_owned());
        }
        for expected in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(
                names.iter().any(|name| name.ends_with(expected)),
                "{expected} missing from {names:?}"
            );
        }
    }

    #[test]
    fn a_bundle_keeps_the_certificates_that_can_be_roots() {
        let not_a_root = base64::engine::general_purpose::STANDARD.encode(b"not a certificate");
        let bundle = format!(
            "-----BEGIN CERTIFICATE-----\n{not_a_root}\n-----END CERTIFICATE-----\n{AMAZON_ROOTS}"
        );
        let kept = usable_roots(bundle.as_bytes()).unwrap();
        assert_eq!(certificates(&kept), certificates(AMAZON_ROOTS.as_bytes()));

        let only_junk =
            format!("-----BEGIN CERTIFICATE-----\n{not_a_root}\n-----END CERTIFICATE-----\n");
        assert!(usable_roots(only_junk.as_bytes()).is_err());
        assert!(usable_roots(b"").is_err());
    }

    /// A DynamoDB stand-in over TLS, under an authority of its own. It reports each
    /// connection: the request it answered, or why the handshake failed.
    struct StandIn {
        url: String,
        authority: tempfile::NamedTempFile,
        connections: tokio::sync::mpsc::UnboundedReceiver<Result<(), String>>,
    }

    async fn stand_in() -> StandIn {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        use std::io::Write;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let authority = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &authority)
            .unwrap();
        let mut bundle = tempfile::NamedTempFile::new().unwrap();
        bundle.write_all(authority.pem().as_bytes()).unwrap();

        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let (report, connections) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, report) = (acceptor.clone(), report.clone());
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(e) => return report.send(Err(e.to_string())),
                    };
                    // One request, its head and JSON body; `{}` is GetItem finding nothing.
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !request.ends_with(b"}") {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => request.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                    let head = String::from_utf8_lossy(&request);
                    report.send(if head.contains("DynamoDB_20120810.GetItem") {
                        Ok(())
                    } else {
                        Err(format!("not a GetItem: {head}"))
                    })
                });
            }
        });
        StandIn {
            url,
            authority: bundle,
            connections,
        }
    }

    async fn get_item(
        url: &str,
        client: SharedHttpClient,
    ) -> Result<Option<()>, aws_sdk_dynamodb::error::SdkError<impl std::error::Error>> {
        use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .http_client(client)
            .endpoint_url(url)
            .build();
        let found = aws_sdk_dynamodb::Client::new(&sdk)
            .get_item()
            .table_name("marquee")
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S("X".into()))
            .send()
            .await?;
        Ok(found.item.map(|_| ()))
    }

    /// The trust store is the client's: Amazon's roots refuse another authority's
    /// certificate in the handshake, and the bundle naming that authority lets the call
    /// through.
    #[tokio::test]
    async fn aws_calls_trust_amazons_roots_unless_a_bundle_is_configured() {
        let mut stand_in = stand_in().await;

        let refused = get_item(&stand_in.url, https_client(None).unwrap()).await;
        assert!(refused.is_err(), "{refused:?}");
        let handshake = stand_in.connections.recv().await.unwrap().unwrap_err();
        assert!(handshake.contains("UnknownCA"), "{handshake}");

        let bundle = https_client(Some(stand_in.authority.path())).unwrap();
        let found = get_item(&stand_in.url, bundle).await.unwrap();
        assert_eq!(found, None);
        assert_eq!(stand_in.connections.recv().await.unwrap(), Ok(()));
    }

    #[test]
    fn an_unreadable_bundle_is_a_configuration_error() {
        let missing = Path::new("/nonexistent/marquee-ca-bundle.pem");
        let error = https_client(Some(missing)).err().unwrap();
        assert!(error.0.contains("AWS_CA_BUNDLE"), "{}", error.0);
    }
}
