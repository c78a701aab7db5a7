//! The stream indexer: fed by the table's DynamoDB stream (moto's) through the filter the
//! template deploys, and by the embedded backend's change feed. Lists follow a click
//! without any sweep, and the projection's own writes start nothing.

use crate::support::{self, Env};
use axum::http::{Method, StatusCode};
use marquee::catalog::{demo, index};
use marquee::role::Role;
use marquee::store::Write;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Whether a stream record passes a Lambda event filter pattern: the subset the template
/// uses (nested objects; arrays of exact values, `{"exists": bool}` or `{"prefix": text}`),
/// with Lambda's meaning (every field of the pattern must match; any entry of an array may).
fn passes(pattern: &Value, record: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        return false;
    };
    fields.iter().all(|(name, wanted)| {
        let value = record.get(name);
        match wanted {
            Value::Object(_) => value.is_some_and(|v| passes(wanted, v)),
            Value::Array(options) => options.iter().any(|option| match option {
                Value::Object(o) => match (o.get("exists"), o.get("prefix")) {
                    (Some(Value::Bool(exists)), None) => value.is_some() == *exists,
                    (None, Some(Value::String(prefix))) => value
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.starts_with(prefix.as_str())),
                    _ => panic!("a matcher the template does not use: {option}"),
                },
                exact => value == Some(exact),
            }),
            _ => false,
        }
    })
}

/// moto's DynamoDB Streams API, as Lambda's poller reads it (one shard on moto).
struct StreamReader {
    iterator: String,
}

fn streams_call(action: &str, body: Value) -> Value {
    let target = format!("DynamoDBStreams_20120810.{action}");
    let (status, text) = support::http_request(
        "POST",
        &support::aws_endpoint(),
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target.as_str()),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
            ),
        ],
        &body.to_string(),
    )
    .unwrap();
    assert_eq!(status, 200, "{action}: {text}");
    serde_json::from_str(&text).unwrap()
}

impl StreamReader {
    /// Reads from now on.
    async fn latest(env: &Env) -> Self {
        let config = support::aws_config().await;
        let table = aws_sdk_dynamodb::Client::new(&config)
            .describe_table()
            .table_name(&env.app.config.table_name)
            .send()
            .await
            .unwrap();
        let arn = table
            .table()
            .and_then(|t| t.latest_stream_arn())
            .expect("the table has a stream, as deployed")
            .to_string();
        let stream = streams_call("DescribeStream", json!({ "StreamArn": arn }));
        let shard = stream["StreamDescription"]["Shards"][0]["ShardId"].clone();
        let iterator = streams_call(
            "GetShardIterator",
            json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"}),
        )["ShardIterator"]
            .as_str()
            .unwrap()
            .to_string();
        Self { iterator }
    }

    /// The records written since the last read.
    fn take(&mut self) -> Vec<Value> {
        let mut records = Vec::new();
        loop {
            let page = streams_call("GetRecords", json!({ "ShardIterator": self.iterator }));
            self.iterator = page["NextShardIterator"].as_str().unwrap().to_string();
            let got = page["Records"].as_array().cloned().unwrap_or_default();
            if got.is_empty() {
                return records;
            }
            records.extend(got);
        }
    }

    /// The records written since the last read that the deployed filter lets through, as
    /// the event Lambda would invoke the stream indexer with.
    fn take_filtered(&mut self) -> (usize, marquee::lambda::StreamEvent) {
        let filter = index::stream_filter();
        let all = self.take();
        let passed: Vec<Value> = all.iter().filter(|r| passes(&filter, r)).cloned().collect();
        let event = serde_json::from_value(json!({ "Records": passed })).unwrap();
        (all.len(), event)
    }
}

async fn like(env: &Env, token: &str, movie: &str) {
    let path = format!("/movies/{movie}/reaction");
    let (status, _, body) = env
        .send(
            Method::PUT,
            &path,
            Some(token),
            Some(json!({"value": "like"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The likes a movie's card shows in the catalogue's list.
async fn listed_likes(env: &Env, id: &str) -> i64 {
    let (status, page) = env.get("/movies?sort=title&limit=100", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|card| card["id"] == json!(id))
        .and_then(|card| card["likes"].as_i64())
        .unwrap_or_else(|| panic!("{id} is not listed: {page}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn the_table_stream_through_the_deployed_filter_feeds_the_index() {
    let env = Env::aws().await;
    let seeded = demo::seed(&env.app, 6, 5).await.unwrap();
    let last = seeded.movies.last().unwrap().clone();
    let (ana, _, _) = env.account("ana", Role::User).await;
    let likes = listed_likes(&env, &last).await;
    let mut stream = StreamReader::latest(&env).await;

    // A like: the reaction item and the movie's record change; only the record, marked
    // for the index, passes the filter.
    like(&env, &ana, &last).await;
    let (written, event) = stream.take_filtered();
    assert!(written >= 2, "the reaction and the record: {written}");
    let movies: Vec<Option<String>> = event.records.iter().map(|r| r.movie()).collect();
    assert_eq!(movies, [Some(last.clone())]);
    assert_eq!(listed_likes(&env, &last).await, likes);

    // What Lambda would do with it: the list follows, with no sweep.
    let answer = marquee::lambda::handle_stream_batch(&env.app, &event).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert_eq!(listed_likes(&env, &last).await, likes + 1);

    // The projection's own writes (shelves, its lease, the mark taken off) pass nothing:
    // it does not start itself again.
    let (written, event) = stream.take_filtered();
    assert!(written > 0, "the projection wrote");
    assert!(event.records.is_empty(), "{:?}", event.records);

    // A movie deleted (its record gone, a marked tombstone in the same transaction) is
    // taken off every shelf by the stream indexer, which then removes the tombstone.
    let gone = seeded.movies[0].clone();
    let record = env
        .app
        .table
        .get(&index::record_key(&gone))
        .await
        .unwrap()
        .unwrap();
    env.app
        .table
        .transact(vec![
            index::tombstone(&gone, &record),
            Write::delete(index::record_key(&gone)),
        ])
        .await
        .unwrap();
    let (_, event) = stream.take_filtered();
    let movies: Vec<Option<String>> = event.records.iter().map(|r| r.movie()).collect();
    assert_eq!(
        movies,
        [Some(gone.clone())],
        "the tombstone, not the removal"
    );
    let answer = marquee::lambda::handle_stream_batch(&env.app, &event).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    let (_, page) = env.get("/movies?limit=100", None).await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != json!(gone)),
        "{page}"
    );
    assert!(
        env.app
            .table
            .get(&index::tombstone_key(&gone))
            .await
            .unwrap()
            .is_none()
    );
}

/// A stream record whose movie fails to project is named back by its sequence number, so
/// Lambda retries from it; a movie named twice in a batch is projected once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_movie_is_named_back_by_its_sequence_number() {
    let env = Env::embedded().await;
    let seeded = demo::seed(&env.app, 2, 3).await.unwrap();
    let record = |id: &str, sequence: &str| {
        json!({"dynamodb": {
            "Keys": {"PK": {"S": format!("MOVIE#{id}")}, "SK": {"S": "RECORD"}},
            "SequenceNumber": sequence,
        }})
    };
    // A marked movie whose record cannot be read as a movie fails its projection.
    let broken = &seeded.movies[1];
    env.app
        .table
        .write(Write::update(
            index::record_key(broken),
            marquee::store::Update::new()
                .set("fields", "not a movie")
                .set(marquee::store::Index::Gsi2.pk(), index::TO_INDEX)
                .set(marquee::store::Index::Gsi2.sk(), broken.as_str()),
        ))
        .await
        .unwrap();
    let event: marquee::lambda::StreamEvent = serde_json::from_value(json!({"Records": [
        record(&seeded.movies[0], "100"),
        record(broken, "101"),
        record(broken, "102"),
        {"dynamodb": {"Keys": {"PK": {"S": "USER#x"}, "SK": {"S": "RECORD"}}, "SequenceNumber": "103"}},
    ]}))
    .unwrap();
    let answer = marquee::lambda::handle_stream_batch(&env.app, &event).await;
    let failed: Vec<Option<&str>> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_deref())
        .collect();
    assert_eq!(failed, [Some("101")]);
}

/// The embedded backend's change feed does what the stream does deployed: with the
/// follower running (as the local server runs it), a like reaches the list by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_brings_a_like_to_the_lists_by_itself() {
    let env = Env::embedded().await;
    let seeded = demo::seed(&env.app, 6, 5).await.unwrap();
    let last = seeded.movies.last().unwrap().clone();
    let (ana, _, _) = env.account("ana", Role::User).await;
    let likes = listed_likes(&env, &last).await;
    let follower = tokio::spawn(marquee::background::follow_changes(env.app.clone()));
    like(&env, &ana, &last).await;
    // A bound on delivery, not a measure of it (infra/bench/freshness.py measures).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if listed_likes(&env, &last).await == likes + 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the like never reached the list");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The follower takes the movie off the to-index list (just after its shelves show
    // the like): nothing is left for the sweep.
    let marked = marquee::store::Query::on(marquee::store::Index::Gsi2, index::to_index_pk(&last));
    while !env.app.table.query(&marked).await.unwrap().items.is_empty() {
        assert!(Instant::now() < deadline, "the movie stayed marked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    follower.abort();
}
