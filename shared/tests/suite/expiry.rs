//! The expiry sweep: the scheduler queues what is due through the EXPIRY index; the worker
//! deletes what is still expired. On the embedded backend (in-process queue) and on
//! DynamoDB with SQS (the local AWS stand-in).

use crate::support;

use marquee::expiry::{self, Due};
use marquee::store::{Item, Key, Write};
use serde_json::json;
use support::Env;

fn expiring(pk: &str, expires_at: i64) -> Item {
    let mut item = json!({"PK": pk, "SK": "META", "entity": "test"})
        .as_object()
        .unwrap()
        .clone();
    expiry::stamp(&mut item, expires_at);
    item
}

/// Every message the sweep queued, whichever queue the backend uses.
async fn drain_queue(env: &Env) -> Vec<String> {
    match &env.app.local_queues {
        Some(queues) => queues.expiry.take(10_000),
        None => support::receive_all(env.app.config.expiry_queue_url.as_deref().unwrap()).await,
    }
}

async fn due_items_are_swept_and_live_ones_kept(env: Env) {
    let now = env.app.clock.now().unix_timestamp();
    let table = &env.app.table;
    // Due now, due days ago (a missed sweep), not due yet, and never expiring.
    for (pk, at) in [("A", now - 10), ("B", now - 3 * 86_400), ("C", now + 600)] {
        table.write(Write::put(expiring(pk, at))).await.unwrap();
    }
    table
        .write(Write::put(
            json!({"PK": "D", "SK": "META"})
                .as_object()
                .unwrap()
                .clone(),
        ))
        .await
        .unwrap();

    let report = marquee::background::expiry_scheduler(&env.app)
        .await
        .unwrap();
    assert_eq!(report.queued, 2);
    let queued = drain_queue(&env).await;
    let mut keys: Vec<Due> = queued
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    keys.sort_by(|a, b| a.pk.cmp(&b.pk));
    assert_eq!(
        keys.iter().map(|d| d.pk.as_str()).collect::<Vec<_>>(),
        vec!["A", "B"]
    );

    // Meanwhile A's life was extended: the worker leaves it alone.
    table
        .write(Write::put(expiring("A", now + 3600)))
        .await
        .unwrap();
    let mut batch = queued.clone();
    batch.push("not json".into());
    let failed = marquee::background::expiry_worker(&env.app, &batch).await;
    assert!(failed.is_empty(), "nothing to retry: {failed:?}");
    assert!(table.get(&Key::new("A", "META")).await.unwrap().is_some());
    assert!(table.get(&Key::new("B", "META")).await.unwrap().is_none());
    assert!(table.get(&Key::new("C", "META")).await.unwrap().is_some());
    assert!(table.get(&Key::new("D", "META")).await.unwrap().is_some());

    // Delivered twice (SQS is at-least-once): still fine.
    assert!(
        marquee::background::expiry_worker(&env.app, &queued)
            .await
            .is_empty()
    );
}

async fn expired_sessions_and_tokens_are_swept(env: Env) {
    let (status, _) = env
        .post(
            "/auth/register",
            None,
            json!({"email": "sweep@example.com", "password": "Velvet-Lantern-Orbit-42"}),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::CREATED);
    let token = env.token_from_email("sweep@example.com", "Activate");
    let digest = marquee::secret::digest(&token);
    let token_key = marquee::auth::one_time::key(&digest);
    assert!(env.app.table.get(&token_key).await.unwrap().is_some());
    let (_, sleeper, _) = env.account("sleeper", marquee::role::Role::User).await;
    let sessions = marquee::auth::session::list(&env.app, &sleeper)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1, "a session that is never used again");
    let session_key = marquee::auth::session::key(&sessions[0].id);

    let sweep = || async {
        let report = marquee::background::expiry_scheduler(&env.app)
            .await
            .unwrap();
        let queued = drain_queue(&env).await;
        assert!(
            marquee::background::expiry_worker(&env.app, &queued)
                .await
                .is_empty()
        );
        report.queued
    };
    env.clock.advance(time::Duration::hours(25));
    assert_eq!(sweep().await, 1, "the activation token");
    assert!(env.app.table.get(&token_key).await.unwrap().is_none());
    assert!(
        env.app.table.get(&session_key).await.unwrap().is_some(),
        "a session idle for a day lives on"
    );
    env.clock.advance(time::Duration::days(7));
    assert_eq!(sweep().await, 1, "the session, idle for a week");
    assert!(env.app.table.get(&session_key).await.unwrap().is_none());
}

support::on_both_backends!(
    due_items_are_swept_and_live_ones_kept,
    expired_sessions_and_tokens_are_swept,
);
