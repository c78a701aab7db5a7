//! End to end: the local server started as a process and driven over HTTP, once on the
//! embedded backend and once on the AWS services of the local stand-in.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

struct Server {
    child: Child,
    url: String,
    output: mpsc::Receiver<String>,
    /// Every error line the server logged, kept apart as it is read: its background work
    /// (the index sweep, the workers) answers no request, so only its log shows a failure.
    errors: Arc<Mutex<Vec<String>>>,
    /// The first admin's credentials, when the server seeded one.
    admin: Option<(String, String)>,
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
        let errors = Arc::new(Mutex::new(Vec::new()));
        let kept = errors.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(r#""level":"ERROR""#) {
                    kept.lock().unwrap().push(line.clone());
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut url = None;
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the server prints its banner");
            if let Some(u) = line.strip_prefix("Marquee API: ") {
                url = Some(u.to_string());
            }
            if line.starts_with("Backend:") {
                break;
            }
        }
        // A seeded first admin is announced right after the backend line.
        let mut admin = None;
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500))
            && let Some(credentials) = line.strip_prefix("First admin: ")
        {
            let (email, rest) = credentials.split_once(" / ").unwrap();
            let password = rest.split_whitespace().next().unwrap();
            admin = Some((email.to_string(), password.to_string()));
        }
        Server {
            child,
            url: url.expect("the server prints its URL"),
            output: rx,
            errors,
            admin,
        }
    }

    fn get(&self, path: &str) -> Response {
        self.request("GET", path, None, None)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.request_with(method, path, token, body, &[])
    }

    fn request_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let host = self.url.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(host).unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if method == "POST" && body.is_none() {
            // As a browser's form post: an empty body.
            head.push_str("Content-Length: 0\r\n");
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        if !body.is_empty() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        write!(stream, "{head}\r\n{body}").unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        parse_response(&raw)
    }

    /// A form post as a browser makes it without JavaScript.
    fn form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let host = self.url.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(host).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        parse_response(&raw)
    }

    /// Output lines written so far (and within a short grace period).
    fn output_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.output.recv_timeout(Duration::from_millis(300)) {
            lines.push(line);
        }
        lines
    }

    /// Fails on any error the server logged since it started.
    fn assert_logged_no_error(&self) {
        self.output_lines();
        let errors = self.errors.lock().unwrap();
        assert_eq!(*errors, Vec::<String>::new(), "the server logged errors");
    }
}

fn parse_response(raw: &str) -> Response {
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

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of attribute `name` on the first tag in `html` that has `marker` in it.
fn attribute(html: &str, marker: &str, name: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let tag_start = html[..=at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let value_at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    tag[value_at..value_at + tag[value_at..].find('"').unwrap()].to_string()
}

/// What a person does with the emailed links, in a browser without JavaScript: opens the
/// activation page, presses its button (a form post), later asks for a reset link on the
/// reset page and sets a new password with its form; then turns two-step sign-in on and
/// signs in with a code.
fn browser_journey(server: &Server, email: &str, mails: impl Fn(&str) -> Vec<String>) {
    let password = "Velvet-Lantern-Orbit-42";
    let new_password = "Copper-Meadow-Harbor-77";
    let credentials = serde_json::json!({"email": email, "password": password});
    let created = server.request("POST", "/auth/register", None, Some(credentials.clone()));
    assert_eq!(created.status, 201, "{}", created.body);
    let link = eventually("the activation email", || {
        mails(email)
            .into_iter()
            .find(|m| m.contains("/activate?token="))
    });
    let path = &link[link.find("/activate?token=").unwrap()..];
    let path: String = path.chars().take_while(|c| !c.is_whitespace()).collect();
    let page = server.get(&path);
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(page.headers["content-security-policy"].contains("frame-ancestors 'none'"));
    let action = attribute(&page.body, "<form", "action");
    let token = attribute(&page.body, "name=\"token\"", "value");
    let inactive = server.request("POST", "/auth/login", None, Some(credentials.clone()));
    assert_eq!(inactive.status, 403, "opening the page changed nothing");
    let done = server.form(&action, &[("token", &token)]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Your account is active"),
        "{}",
        done.body
    );
    assert!(done.headers["content-type"].starts_with("text/html"));

    let forgot_page = server.get("/reset-password");
    let action = attribute(&forgot_page.body, "<form", "action");
    let asked = server.form(&action, &[("email", email)]);
    assert_eq!(asked.status, 200, "{}", asked.body);
    let reset_link = (0..50)
        .find_map(|_| {
            let found = mails(email)
                .into_iter()
                .find(|m| m.contains("/reset-password?token="));
            if found.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            found
        })
        .expect("a reset email (the mail queue is drained in the background)");
    let path = &reset_link[reset_link.find("/reset-password?token=").unwrap()..];
    let path: String = path.chars().take_while(|c| !c.is_whitespace()).collect();
    let page = server.get(&path);
    let action = attribute(&page.body, "<form", "action");
    let token = attribute(&page.body, "name=\"token\"", "value");
    let refused = server.form(
        &action,
        &[
            ("token", &token),
            ("new_password", "password1"),
            ("new_password_confirm", "password1"),
        ],
    );
    assert_eq!(
        refused.status, 422,
        "a weak password is refused with its reasons"
    );
    assert!(refused.body.contains("new_password:"), "{}", refused.body);
    let reset = server.form(
        &action,
        &[
            ("token", &token),
            ("new_password", new_password),
            ("new_password_confirm", new_password),
        ],
    );
    assert_eq!(reset.status, 200, "{}", reset.body);
    let credentials = serde_json::json!({"email": email, "password": new_password});
    let pair = server
        .request("POST", "/auth/login", None, Some(credentials.clone()))
        .json();
    let access = pair["access_token"]
        .as_str()
        .expect("signed in with the new password");

    // Two-step sign-in, with codes an authenticator computes from the otpauth URI.
    let setup = server.request(
        "POST",
        "/auth/mfa/totp",
        Some(access),
        Some(serde_json::json!({})),
    );
    assert_eq!(setup.status, 201, "{}", setup.body);
    let totp = totp_rs::Totp::from_url(setup.json()["otpauth_uri"].as_str().unwrap()).unwrap();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let confirmed = server.request(
        "POST",
        "/auth/mfa/totp/confirm",
        Some(access),
        Some(serde_json::json!({"code": totp.generate(now()).to_string()})),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let recovery = confirmed.json()["recovery_codes"][0]
        .as_str()
        .unwrap()
        .to_string();
    let first = server
        .request("POST", "/auth/login", None, Some(credentials))
        .json();
    assert_eq!(first["mfa_required"], true, "{first}");
    // The code just used does not count again; a recovery code does (a real clock here).
    let verified = server.request(
        "POST",
        "/auth/mfa/verify",
        None,
        Some(serde_json::json!({"mfa_token": first["mfa_token"], "recovery_code": recovery})),
    );
    assert_eq!(verified.status, 200, "{}", verified.body);
    let access = verified.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = server.request("GET", "/me", Some(&access), None).json();
    assert_eq!(
        (
            me["mfa_enabled"].clone(),
            me["recovery_codes_remaining"].clone()
        ),
        (Value::Bool(true), Value::from(9))
    );
    let events = server
        .request("GET", "/me/security-events?limit=100", Some(&access), None)
        .json();
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in [
        "sign_in",
        "recovery_code_used",
        "mfa_enabled",
        "password_reset",
    ] {
        assert!(types.contains(&kind), "{kind} in {types:?}");
    }
}

/// Sign-in with a provider on the local server's simulated provider, as a browser without
/// a provider account goes: our start, the provider's page and its form, our callback with
/// the cookie, the signed-in page, whose script trades the login code (done here by hand).
fn provider_journey(server: &Server, provider: &str, email: &str) -> Value {
    let landing = format!("{}/oauth/simulated/signed-in", server.url);
    let started = server.get(&format!("/auth/oauth/{provider}?redirect_to={landing}"));
    assert_eq!(started.status, 302, "{}", started.body);
    let cookie = started.headers["set-cookie"]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let authorize = started.headers["location"].clone();
    let page_path = authorize
        .strip_prefix(&server.url)
        .expect("the simulated provider is on this server");
    let page = server.get(page_path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"email\"") && page.body.contains("method=\"post\""));
    let mut fields: Vec<(String, String)> = page
        .body
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let tag = &rest[..rest.find('>').unwrap()];
            let attr = |name: &str| {
                let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                tag[at..at + tag[at..].find('"').unwrap()]
                    .replace("&#x2f;", "/")
                    .replace("&amp;", "&")
            };
            (attr("name"), attr("value"))
        })
        .collect();
    fields.push(("email".into(), email.into()));
    fields.push(("name".into(), "Rosa Lind".into()));
    fields.push(("action".into(), "allow".into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let back = server.form(page_path, &fields);
    assert!((300..400).contains(&back.status), "{}", back.body);
    let callback = back.headers["location"]
        .strip_prefix(&server.url)
        .unwrap()
        .to_string();
    let returned = server.request_with("GET", &callback, None, None, &[("Cookie", &cookie)]);
    assert_eq!(returned.status, 303, "{}", returned.body);
    let landed = returned.headers["location"].clone();
    assert!(landed.starts_with(&landing), "{landed}");
    let code = landed
        .split("login_code=")
        .nth(1)
        .expect("a login code")
        .to_string();
    let page = server.get(landed.strip_prefix(&server.url).unwrap());
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/auth/oauth/exchange"));
    // The browser that started the sign-in trades the code (the page's script does, with
    // the cookie the browser holds).
    let pair = server.request_with(
        "POST",
        "/auth/oauth/exchange",
        None,
        Some(serde_json::json!({"login_code": code})),
        &[("Cookie", &cookie)],
    );
    assert_eq!(pair.status, 200, "{}", pair.body);
    let access = pair.json()["access_token"].as_str().unwrap().to_string();
    server.request("GET", "/me", Some(&access), None).json()
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
    // The front door is the web app, its scripts this origin's only.
    let front = server.get("/");
    assert_eq!(front.status, 200);
    assert!(
        front
            .body
            .contains(r#"<script type="module" src="/app/main.js">"#)
    );
    let policy = &front.headers["content-security-policy"];
    assert!(policy.contains("script-src 'self';"), "{policy}");
    let script = server.get("/app/main.js");
    assert_eq!(script.status, 200);
    assert!(script.headers["content-type"].starts_with("text/javascript"));
    assert_eq!(server.get("/app/no-such-file.js").status, 404);

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
        serde_json::from_str::<Value>(&line)
            .is_ok_and(|v| v["span"]["request_id"] == request_id.as_str() && v["status"] == 200)
    });
    assert!(logged, "a JSON log line for request {request_id}");
}

/// register -> email -> activate -> login -> me -> refresh -> reuse revokes -> logout.
fn journey(server: &Server, email: &str, activation_token: impl Fn(&str) -> Option<String>) {
    let password = "Velvet-Lantern-Orbit-42";
    let credentials = serde_json::json!({"email": email, "password": password});
    let pair = signed_in(server, email, &activation_token);
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    let me = server.request("GET", "/me", Some(access), None);
    assert_eq!((me.status, me.json()["email"].as_str()), (200, Some(email)));
    let rotated = server.request(
        "POST",
        "/auth/refresh",
        None,
        Some(serde_json::json!({"refresh_token": refresh})),
    );
    assert_eq!(rotated.status, 200);
    let access = rotated.json()["access_token"].as_str().unwrap().to_string();
    let reused = server.request(
        "POST",
        "/auth/refresh",
        None,
        Some(serde_json::json!({"refresh_token": refresh})),
    );
    assert_eq!(
        (reused.status, reused.json()["code"].as_str()),
        (401, Some("refresh_token_reused"))
    );
    assert_eq!(
        server.request("GET", "/me", Some(&access), None).status,
        401
    );

    let pair = server
        .request("POST", "/auth/login", None, Some(credentials))
        .json();
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(
        server
            .request("POST", "/auth/logout", Some(access), None)
            .status,
        204
    );
    assert_eq!(server.request("GET", "/me", Some(access), None).status, 401);

    let admin = admin_token(server);
    let listed = server.request("GET", "/admin/users?email=journey", Some(&admin), None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["items"][0]["email"], email);
}

/// A new account, activated and signed in: its token pair.
fn signed_in(
    server: &Server,
    email: &str,
    activation_token: &impl Fn(&str) -> Option<String>,
) -> Value {
    let credentials = serde_json::json!({"email": email, "password": "Velvet-Lantern-Orbit-42"});
    let created = server.request("POST", "/auth/register", None, Some(credentials.clone()));
    assert_eq!(created.status, 201, "{}", created.body);
    let token = eventually("the activation email", || activation_token(email));
    let activated = server.request(
        "POST",
        "/auth/activate",
        None,
        Some(serde_json::json!({"token": token})),
    );
    assert_eq!(activated.status, 200, "{}", activated.body);
    server
        .request("POST", "/auth/login", None, Some(credentials))
        .json()
}

fn admin_token(server: &Server) -> String {
    let (email, password) = server.admin.clone().expect("a first admin was seeded");
    let pair = server
        .request(
            "POST",
            "/auth/login",
            None,
            Some(serde_json::json!({"email": email, "password": password})),
        )
        .json();
    pair["access_token"].as_str().unwrap().to_string()
}

/// What a browser does: browse -> cart -> order -> checkout on the simulated page (a
/// declined card, then Pay) -> paid and owned -> receipt -> refund asked -> approved ->
/// the provider's refund event -> access revoked -> refund email.
fn purchase_journey(
    server: &Server,
    email: &str,
    activation_token: impl Fn(&str) -> Option<String>,
    emails_to: impl Fn(&str) -> Vec<String>,
) {
    let admin = admin_token(server);
    let created = server.request(
        "POST",
        "/movies",
        Some(&admin),
        Some(
            serde_json::json!({"title": "The Lisbon Matinee", "release_date": "2024-05-01",
            "duration_min": 104, "certification": "PG",
            "price": {"amount": 1299, "currency": "EUR"}}),
        ),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let movie = created.json()["id"].as_str().unwrap().to_string();
    // Browse: the new movie is found by search and shown.
    let found = server.get("/movies?q=lisbon%20matinee").json();
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == movie.as_str()),
        "{found}"
    );
    assert_eq!(server.get(&format!("/movies/{movie}")).status, 200);
    let cinema = server.request(
        "POST",
        "/cinemas",
        Some(&admin),
        Some(
            serde_json::json!({"name": "Rex", "address": "1 Bd", "city": "Paris",
            "country": "FR", "screens": [{"number": 1, "seats": 80}]}),
        ),
    );
    assert_eq!(cinema.status, 201, "{}", cinema.body);
    let starts_at = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let scheduled = server.request(
        "POST",
        "/showtimes",
        Some(&admin),
        Some(
            serde_json::json!({"movie_id": movie, "cinema_id": cinema.json()["id"],
            "screen": 1, "starts_at": starts_at, "seats": 80,
            "price": {"amount": 900, "currency": "EUR"}}),
        ),
    );
    assert_eq!(scheduled.status, 201, "{}", scheduled.body);
    let showtime = scheduled.json()["id"].as_str().unwrap().to_string();
    let buyer = signed_in(server, email, &activation_token)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for item in [
        serde_json::json!({"movie_id": movie}),
        serde_json::json!({"showtime_id": showtime, "quantity": 2}),
    ] {
        let added = server.request("POST", "/cart/items", Some(&buyer), Some(item));
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let placed = server.request_with(
        "POST",
        "/orders",
        Some(&buyer),
        None,
        &[("Idempotency-Key", "e2e-order")],
    );
    assert_eq!(placed.status, 201, "{}", placed.body);
    let order = placed.json()["id"].as_str().unwrap().to_string();

    let started = server.request(
        "POST",
        &format!("/orders/{order}/checkout"),
        Some(&buyer),
        None,
    );
    assert_eq!(started.status, 200, "{}", started.body);
    let url = started.json()["checkout_url"].as_str().unwrap().to_string();
    let page_path = url
        .strip_prefix(&server.url)
        .expect("the page is on this server");
    let page = server.get(page_path);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Pay ") && page.body.contains("Decline"),
        "{}",
        page.body
    );
    // A payment page is never framed, cached or leaking its address.
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let policy = &page.headers["content-security-policy"];
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"),
        "{policy}"
    );

    let declined = server.request("POST", &format!("{page_path}/decline"), None, None);
    assert_eq!(declined.status, 303);
    assert!(declined.headers["location"].ends_with("?declined=1"));
    assert!(
        server
            .get(&declined.headers["location"])
            .body
            .contains("Try a different payment method")
    );
    let payments = server
        .request("GET", "/payments", Some(&buyer), None)
        .json();
    assert_eq!(payments["items"][0]["status"], "failed", "{payments}");

    let paid = server.request("POST", &format!("{page_path}/pay"), None, None);
    assert_eq!(paid.status, 303);
    // Back to the web app's screen of the order, on this server.
    let back = paid.headers["location"].clone();
    assert_eq!(
        back,
        format!("{}/#/orders/{order}?checkout=success", server.url)
    );
    let got = server
        .request("GET", &format!("/orders/{order}"), Some(&buyer), None)
        .json();
    assert_eq!(got["status"], "paid", "{got}");
    let owned = server
        .request("GET", "/me/purchases", Some(&buyer), None)
        .json();
    assert_eq!(owned["items"][0]["id"], movie.as_str(), "{owned}");
    let receipts = emails_to(email);
    assert_eq!(
        receipts
            .iter()
            .filter(|m| m.contains("Thank you for your purchase"))
            .count(),
        1
    );
    // Pressing Pay again (a double click) changes nothing.
    server.request("POST", &format!("{page_path}/pay"), None, None);
    assert_eq!(
        emails_to(email)
            .iter()
            .filter(|m| m.contains("Thank you for your purchase"))
            .count(),
        1
    );

    let asked = server.request(
        "POST",
        &format!("/orders/{order}/refund"),
        Some(&buyer),
        Some(serde_json::json!({"reason": "Bought the wrong one"})),
    );
    assert_eq!(asked.status, 202, "{}", asked.body);
    let approved = server.request(
        "POST",
        &format!("/admin/orders/{order}/refund"),
        Some(&admin),
        None,
    );
    assert_eq!(approved.status, 202, "{}", approved.body);
    let mut status = String::new();
    for _ in 0..50 {
        status = server
            .request("GET", &format!("/orders/{order}"), Some(&buyer), None)
            .json()["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "refunded" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        status,
        "refunded",
        "server log: {:?}",
        server
            .output_lines()
            .into_iter()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect::<Vec<_>>()
    );
    let owned = server
        .request("GET", "/me/purchases", Some(&buyer), None)
        .json();
    assert_eq!(owned["items"], serde_json::json!([]));
    assert_eq!(
        emails_to(email)
            .iter()
            .filter(|m| m.contains("Your refund has been made"))
            .count(),
        1
    );
}

/// What `find` finds within 10 s: the server's mail worker sends in the background.
fn eventually<T>(what: &str, find: impl Fn() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(found) = find() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not arrive within 10 s")
}

fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[test]
fn local_server_on_the_embedded_backend() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("MARQUEE_DATA_DIR", data.path().display().to_string()),
        ("MARQUEE_DEMO_MOVIES", "30".into()),
    ]);
    exercise_system_routes(&server, None);
    // A fresh embedded store starts with the demo catalogue, browsable and searchable.
    let movies = server.get("/movies?sort=title&limit=100");
    assert_eq!(movies.status, 200);
    assert_eq!(movies.json()["items"].as_array().unwrap().len(), 30);
    let showtimes = server.get("/showtimes?limit=5");
    assert_eq!(showtimes.json()["items"].as_array().unwrap().len(), 5);
    assert!(data.path().join("marquee.sqlite3").exists());
    assert!(data.path().join("jwt-ed25519.pem").exists());
    let outbox = data.path().join("outbox");
    journey(&server, "journey@example.com", |to| {
        // The outbox folder appears with the first email.
        let mut mails: Vec<_> = std::fs::read_dir(&outbox)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .collect();
        mails.retain(|p| p.extension().is_some_and(|e| e == "txt"));
        mails.sort();
        mails
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .rfind(|t| t.contains(&format!("To: {to}")))
            .map(|text| token_in(&text))
    });
    let outbox_mails = |to: &str| -> Vec<String> {
        let Ok(folder) = std::fs::read_dir(&outbox) else {
            return Vec::new();
        };
        folder
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .filter(|t| t.contains(&format!("To: {to}")))
            .collect()
    };
    purchase_journey(
        &server,
        "buyer@example.com",
        |to| {
            let mails = outbox_mails(to);
            mails
                .iter()
                .find(|m| m.contains("token="))
                .map(|m| token_in(m))
        },
        outbox_mails,
    );
    browser_journey(&server, "browser@example.com", outbox_mails);
    // Offline sign-in with "Google", then "Facebook" for the same person: one account.
    let google = provider_journey(&server, "google", "rosa@example.com");
    assert_eq!(
        (google["email"].as_str(), google["first_name"].as_str()),
        (Some("rosa@example.com"), Some("Rosa"))
    );
    let facebook = provider_journey(&server, "facebook", "rosa@example.com");
    assert_eq!(facebook["id"], google["id"]);
    server.assert_logged_no_error();
}

#[test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
fn local_server_on_the_aws_stand_in() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the suite with ./infra/test, which starts the local AWS stand-in",
    );
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let table = format!("e2e-{suffix}");
    let sender = format!("no-reply-{suffix}@marquee.test");
    let bootstrap = || {
        Command::new(env!("CARGO_BIN_EXE_marquee-table"))
            .args(["--queues", "--verify-sender"])
            .env("MARQUEE_TABLE", &table)
            .env("MARQUEE_MAIL_FROM", format!("Marquee <{sender}>"))
            .output()
            .unwrap()
    };
    let created = bootstrap();
    let progress = String::from_utf8_lossy(&created.stderr);
    assert!(created.status.success(), "{progress}");
    assert!(
        progress.contains(&format!("table {table} created")),
        "{progress}"
    );
    assert!(
        progress.contains(&format!("sender {sender} registered")),
        "{progress}"
    );
    // Only `export NAME='url'` lines reach stdout, for a shell to eval.
    let exports: HashMap<String, String> = String::from_utf8_lossy(&created.stdout)
        .lines()
        .map(|line| {
            let (name, value) = line
                .strip_prefix("export ")
                .and_then(|rest| rest.split_once('='))
                .unwrap_or_else(|| panic!("not an export line: {line}"));
            (name.to_string(), value.trim_matches('\'').to_string())
        })
        .collect();
    let again = bootstrap();
    let progress = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{progress}");
    assert!(progress.contains("already exists"), "{progress}");
    // SES answers AlreadyExists for a known identity; the stand-in registers it again.
    assert!(progress.contains(&format!("sender {sender}")), "{progress}");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout)
            .lines()
            .collect::<Vec<_>>()
            .len(),
        2,
        "the same two queues"
    );
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = marquee::keys::SigningKeys::load_or_create(keys_dir.path()).unwrap();
    let private_key = std::fs::read_to_string(keys_dir.path().join("jwt-ed25519.pem")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("MARQUEE_BACKEND", "aws".into()),
        ("MARQUEE_TABLE", table),
        (
            "MARQUEE_EXPIRY_QUEUE_URL",
            exports["MARQUEE_EXPIRY_QUEUE_URL"].clone(),
        ),
        (
            "MARQUEE_MAIL_QUEUE_URL",
            exports["MARQUEE_MAIL_QUEUE_URL"].clone(),
        ),
        ("MARQUEE_JWT_PRIVATE_KEY", private_key),
        ("MARQUEE_MAIL_FROM", sender),
        ("MARQUEE_DATA_DIR", data.path().display().to_string()),
        ("AWS_ENDPOINT_URL", endpoint.clone()),
    ]);
    exercise_system_routes(&server, Some(keys.kid()));
    let mail_endpoint = endpoint.clone();
    journey(&server, &format!("journey.{suffix}@example.com"), |to| {
        let body = http_get(&format!("{mail_endpoint}/moto-api/data.json"));
        let data: Value = serde_json::from_str(&body).unwrap();
        data["ses"]["Message"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|m| m["destinations"]["ToAddresses"][0] == to)
            .map(|message| token_in(message["body"].as_str().unwrap()))
    });
    let ses_mails = |to: &str| -> Vec<String> {
        let body = http_get(&format!("{endpoint}/moto-api/data.json"));
        let data: Value = serde_json::from_str(&body).unwrap();
        data["ses"]["Message"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destinations"]["ToAddresses"][0] == to)
            .map(|m| m["body"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    // The mail worker runs in the server too: a reset link asked for through the API goes
    // through the SQS mail queue and out through SES.
    let journeyer = format!("journey.{suffix}@example.com");
    let asked = server.request(
        "POST",
        "/auth/password/forgot",
        None,
        Some(serde_json::json!({"email": journeyer})),
    );
    assert_eq!(asked.status, 202);
    let delivered = (0..100).any(|_| {
        let found = ses_mails(&journeyer)
            .iter()
            .any(|m| m.contains("reset-password?token="));
        if !found {
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    });
    assert!(delivered, "the queued reset email was sent within 10 s");
    let buyer = format!("buyer.{suffix}@example.com");
    purchase_journey(
        &server,
        &buyer,
        |to| {
            ses_mails(to)
                .iter()
                .rfind(|m| m.contains("token="))
                .map(|m| token_in(m))
        },
        ses_mails,
    );
    assert!(
        !data.path().join("marquee.sqlite3").exists(),
        "the AWS backend writes nothing locally"
    );
    server.assert_logged_no_error();
}

fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    raw.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}
