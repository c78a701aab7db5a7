//! A viewer's journey through the generated Rust client: every call through the generated
//! functions, every answer decoded into the generated models (a decoding failure is an
//! error of the call, so each step's `expect` checks both).
//!
//! Usage (by infra/contract/clients.py): marquee-client-journey BASE_URL OUTBOX_DIR

use marquee_client::apis::configuration::Configuration;
use marquee_client::apis::{accounts_api, auth_api, cart_api, catalog_api};
use marquee_client::apis::{engagement_api, orders_api};
use marquee_client::models;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "Velvet-Lantern-Orbit-42";

/// The token of the newest activation email to `to` in the local server's outbox.
fn email_token(outbox: &Path, to: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let mut mails: Vec<_> = std::fs::read_dir(outbox)
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        mails.sort();
        for mail in mails.iter().rev() {
            let text = std::fs::read_to_string(mail).unwrap_or_default();
            if text.contains(&format!("\nTo: {to}\n"))
                && let Some(at) = text.find("/activate?token=")
            {
                let rest = &text[at + "/activate?token=".len()..];
                return rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no activation email to {to} within 20 s");
}

fn step(what: &str) {
    println!("rust client: {what}: ok");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().expect("the API's base URL");
    let outbox = args.next().expect("the outbox folder");
    let anonymous = Configuration {
        base_path: base.clone(),
        ..Configuration::default()
    };
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let email = format!("rust.{millis}@example.com");

    let created = accounts_api::auth_register(
        &anonymous,
        models::RegisterRequest::new(email.clone(), PASSWORD.into()),
    )
    .await
    .expect("sign up");
    assert!(!created.active);
    step("sign up");
    let token = email_token(Path::new(&outbox), &email);
    accounts_api::auth_activate(&anonymous, models::ActivateRequest::new(token))
        .await
        .expect("activate");
    step("activate");
    let answer = auth_api::auth_login(
        &anonymous,
        models::LoginRequest::new(email.clone(), PASSWORD.into()),
    )
    .await
    .expect("sign in");
    let models::LoginAnswer::TokenPair(pair) = answer else {
        panic!("sign in: no token pair: {answer:?}");
    };
    step("sign in");
    let viewer = Configuration {
        bearer_access_token: Some(pair.access_token.clone()),
        ..anonymous.clone()
    };

    let page = catalog_api::movies_list(
        &anonymous,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        Some(10),
        None,
    )
    .await
    .expect("list movies");
    let card = page
        .items
        .iter()
        .find(|card| card.available)
        .expect("a movie for sale in the demo catalogue");
    step("list movies");
    let movie = catalog_api::movies_get(&anonymous, &card.id)
        .await
        .expect("open a movie");
    assert_eq!(movie.id, card.id);
    step("open a movie");
    engagement_api::favorites_add(&viewer, &movie.id)
        .await
        .expect("favourite");
    step("favourite");
    let counts = engagement_api::movies_rating_set(&viewer, &movie.id, models::RatingInput::new(7))
        .await
        .expect("rate");
    assert!(counts.rating_count >= 1);
    step("rate");
    let patch = models::ProfilePatch {
        first_name: Some(Some("Rui".into())),
        country: Some(Some("PT".into())),
        ..models::ProfilePatch::new()
    };
    let me = accounts_api::me_update(&viewer, patch)
        .await
        .expect("update the profile");
    assert_eq!(me.first_name, Some(Some("Rui".into())));
    step("update the profile");
    let item = models::AddItem {
        movie_id: Some(Some(movie.id.clone())),
        ..models::AddItem::new()
    };
    let cart = cart_api::cart_add(&viewer, item).await.expect("add to cart");
    assert!(cart.items.iter().any(|line| line.movie_id == movie.id));
    step("add to cart");
    let order = orders_api::orders_create(&viewer, "rust-journey")
        .await
        .expect("order");
    step("order");
    let started = orders_api::orders_checkout(&viewer, &order.id)
        .await
        .expect("check out");
    assert!(started.checkout_url.starts_with("http"));
    step("check out");
    println!("rust client: journey passed");
}
