//! `bench-webhook [ORDERS]`: latency of the stripe-webhook handler on the embedded backend,
//! every request through the whole router in process: a first delivery of
//! checkout.session.completed (verify, claim, pay the order, grant the movie, owe and send
//! the receipt, tidy the cart), a repeat of it, and a delivery with a bad signature.
//! Each order is made and checked out first (not timed).

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use marquee::{App, Config, routes};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Instant;
use tower::ServiceExt;

pub fn main() -> ExitCode {
    crate::run_command("bench-webhook", async {
        let usage = "usage: bench-webhook [ORDERS]";
        let orders: usize = match std::env::args().nth(1) {
            Some(n) => n.parse().map_err(|_| usage)?,
            None => 200,
        };
        let dir =
            std::path::Path::new("target").join(format!("bench-webhook-{}", ulid::Ulid::new()));
        let dir_text = dir.display().to_string();
        let config = Config::from_lookup(|name| match name {
            "MARQUEE_DATA_DIR" => Some(dir_text.clone()),
            _ => None,
        })?;
        let app = App::start(config).await?;
        let result = run(&app, orders).await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    })
}

async fn run(app: &App, orders: usize) -> Result<(), Box<dyn std::error::Error>> {
    crate::seed::seed_demo(app, orders + orders / 2 + 20, 7, 0).await?;
    let secret = app
        .config
        .stripe_webhook_secret
        .clone()
        .ok_or("no webhook secret")?;
    let api = routes::router(app.clone(), |_| true);
    let password = marquee::secret::new_token();
    marquee::accounts::admin::ensure_admin(app, "buyer@bench.test", &password)
        .await
        .map_err(|p| p.to_string())?;
    let (_, pair) = call(
        &api,
        "POST",
        "/auth/login",
        None,
        Some(json!({"email": "buyer@bench.test", "password": password})),
        &[],
    )
    .await?;
    let token = pair["access_token"]
        .as_str()
        .ok_or("login failed")?
        .to_string();
    let (_, listed) = call(&api, "GET", "/movies?sort=title&limit=100", None, None, &[]).await?;
    let mut movies: Vec<String> = Vec::new();
    let mut cursor = listed["next_cursor"].as_str().map(str::to_string);
    movies.extend(ids(&listed));
    while movies.len() < orders * 2 {
        let Some(c) = cursor.take() else { break };
        let (_, page) = call(
            &api,
            "GET",
            &format!("/movies?sort=title&limit=100&cursor={c}"),
            None,
            None,
            &[],
        )
        .await?;
        movies.extend(ids(&page));
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }

    let (mut first, mut repeat, mut forged) = (Vec::new(), Vec::new(), Vec::new());
    let mut candidates = movies.into_iter();
    while first.len() < orders {
        let Some(movie) = candidates.next() else {
            return Err("not enough movies for sale in the demo catalogue".into());
        };
        let (status, _) = call(
            &api,
            "POST",
            "/cart/items",
            Some(&token),
            Some(json!({"movie_id": movie})),
            &[],
        )
        .await?;
        if status != 201 {
            continue; // not for sale (the demo withholds some)
        }
        let key = ulid::Ulid::new().to_string();
        let (status, order) = call(
            &api,
            "POST",
            "/orders",
            Some(&token),
            None,
            &[("idempotency-key", &key)],
        )
        .await?;
        if status != 201 {
            return Err(format!("ordering answered {status}: {order}").into());
        }
        let id = order["id"].as_str().unwrap_or_default().to_string();
        let (status, started) = call(
            &api,
            "POST",
            &format!("/orders/{id}/checkout"),
            Some(&token),
            None,
            &[],
        )
        .await?;
        if status != 200 {
            return Err(format!("checkout answered {status}: {started}").into());
        }
        let session = started["checkout_url"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        // What Stripe sends for the session: the order's total, its currency in lower case.
        let total = &order["total"];
        let currency = total["currency"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        let payload = json!({
            "id": format!("evt_{key}"), "object": "event", "type": "checkout.session.completed",
            "data": {"object": {"id": session, "object": "checkout.session",
                "client_reference_id": id, "metadata": {"order_id": id},
                "payment_status": "paid", "status": "complete",
                "amount_total": total["amount"], "currency": currency,
                "payment_intent": format!("pi_{key}")}},
        })
        .to_string();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = marquee::payments::signature::header(&secret, now, payload.as_bytes());
        let forgery = signature.replace("v1=", "v1=00");
        for (times, signature, expected) in [
            (&mut first, &signature, 200),
            (&mut repeat, &signature, 200),
            (&mut forged, &forgery, 400),
        ] {
            let started = Instant::now();
            let (status, body) = webhook(&api, &payload, signature).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            if status != expected {
                let problem = format!("the webhook answered {status}, not {expected}: {body}");
                return Err(problem.into());
            }
        }
        let (_, paid) = call(
            &api,
            "GET",
            &format!("/orders/{id}"),
            Some(&token),
            None,
            &[],
        )
        .await?;
        if paid["status"] != "paid" {
            return Err(format!("order {id} is not paid: {paid}").into());
        }
    }
    println!(
        "\n{orders} orders, one movie each (in-process router, embedded backend, release build)\n"
    );
    println!("| delivery | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (label, mut times) in [
        ("checkout.session.completed, first delivery", first),
        ("the same event again (recognised, nothing changes)", repeat),
        ("bad signature (400)", forged),
    ] {
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} | {:.2} |",
            pct(0.50),
            pct(0.90),
            pct(0.99),
            times[times.len() - 1]
        );
    }
    Ok(())
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn webhook(
    api: &axum::Router,
    payload: &str,
    signature: &str,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let request = Request::post("/webhooks/stripe")
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(Body::from(payload.to_string()))?;
    respond(api, request).await
}

async fn call(
    api: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?,
        None => request.body(Body::empty())?,
    };
    respond(api, request).await
}

async fn respond(
    api: &axum::Router,
    request: Request<Body>,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let response = api.clone().oneshot(request).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}
