//! End to end: the local server started as a process and driven over HTTP, once on the
//! embedded backend and once on the AWS services of the local stand-in.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Server {
    child: Child,
    url: String,
    output: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(env: &[(&str, String)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_marquee-local"));
        command
            .env("MARQUEE_LISTEN", "127.0.0.1:0")
            .env_remove("MARQUEE_BACKEND")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut url = None;
        while url.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the server prints its URL");
            url = line.strip_prefix("Marquee API: ").map(str::to_string);
        }
        Server {
            child,
            url: url.unwrap(),
            output: rx,
        }
    }

    fn get(&self, path: &str) -> Response {
        let host = self.url.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(host).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        Response {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// Output lines written so far (and within a short grace period).
    fn output_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.output.recv_timeout(Duration::from_millis(300)) {
            lines.push(line);
        }
        lines
    }
}

struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("JSON body: {}", self.body))
    }
}

fn exercise_system_routes(server: &Server, expected_kid: Option<&str>) {
    let health = server.get("/health");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let request_id = health.headers["x-request-id"].clone();

    let doc = server.get("/openapi.json");
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json()["openapi"], "3.1.0");
    assert_eq!(server.get("/docs").status, 200);

    let jwks = server.get("/.well-known/jwks.json").json();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    if let Some(kid) = expected_kid {
        assert_eq!(jwks["keys"][0]["kid"], kid);
    }

    let missing = server.get("/no-such-route");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.headers["content-type"], "application/problem+json");
    assert_eq!(missing.json()["code"], "not_found");

    // Logs are JSON lines carrying the request id the client saw.
    let logged = server.output_lines().into_iter().any(|line| {
        serde_json::from_str::<Value>(&line).is_ok_and(|v| {
            v["span"]["request_id"] == request_id.as_str() && v["fields"]["status"] == 200
        })
    });
    assert!(logged, "a JSON log line for request {request_id}");
}

#[test]
fn local_server_on_the_embedded_backend() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(&[("MARQUEE_DATA_DIR", data.path().display().to_string())]);
    exercise_system_routes(&server, None);
    assert!(data.path().join("marquee.sqlite3").exists());
    assert!(data.path().join("jwt-ed25519.pem").exists());
}

#[test]
fn local_server_on_the_aws_stand_in() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the suite with ./infra/test, which starts the local AWS stand-in",
    );
    let table = format!("e2e-{}", ulid::Ulid::new().to_string().to_lowercase());
    let created = Command::new(env!("CARGO_BIN_EXE_marquee-table"))
        .env("MARQUEE_TABLE", &table)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("created"));
    let again = Command::new(env!("CARGO_BIN_EXE_marquee-table"))
        .env("MARQUEE_TABLE", &table)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already exists"));

    let queue_url = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        aws_sdk_sqs::Client::new(&aws)
            .create_queue()
            .queue_name(&table)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    });
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = marquee::auth::keys::SigningKeys::load_or_create(keys_dir.path()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("MARQUEE_BACKEND", "aws".into()),
        ("MARQUEE_TABLE", table),
        ("MARQUEE_QUEUE_URL", queue_url),
        ("MARQUEE_JWT_PUBLIC_KEY", keys.public_pem()),
        ("MARQUEE_DATA_DIR", data.path().display().to_string()),
        ("AWS_ENDPOINT_URL", endpoint),
    ]);
    exercise_system_routes(&server, Some(keys.kid()));
    assert!(
        !data.path().join("marquee.sqlite3").exists(),
        "the AWS backend writes nothing locally"
    );
}
