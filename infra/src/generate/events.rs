//! Sample API Gateway HTTP API (payload 2.0) events, for `cargo lambda invoke --data-file`.

use marquee::routes::{Background, Route, Trigger};
use serde_json::{Map, Value, json};

/// A ULID-shaped sample for every path parameter.
pub const SAMPLE_ID: &str = "01JD8X0000000000000000TEST";

pub fn api_event(route: &Route) -> String {
    let method = route.method.as_str();
    let params = route.params();
    let path = params.iter().fold(route.path.to_string(), |path, p| {
        path.replace(&format!("{{{p}}}"), SAMPLE_ID)
    });
    let route_key = format!("{method} {}", route.path);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "host": "api.marquee.example",
            "user-agent": "cargo-lambda-invoke",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "marquee",
            "domainName": "api.marquee.example",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "cargo-lambda-invoke"
            },
            "requestId": "sample-request-id",
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795435200000u64
        },
        "isBase64Encoded": false
    });
    if !params.is_empty() {
        let values: Map<String, Value> = params
            .iter()
            .map(|p| (p.to_string(), Value::from(SAMPLE_ID)))
            .collect();
        event["pathParameters"] = Value::Object(values);
    }
    let mut text = serde_json::to_string_pretty(&event).expect("an event serialises");
    text.push('\n');
    text
}

/// A sample of what triggers a background function.
pub fn background_event(function: &Background) -> String {
    let event = match function.trigger {
        Trigger::Schedule(_) => json!({
            "version": "0",
            "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-11-22T12:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/marquee-expiry-sweep"],
            "detail": {}
        }),
        Trigger::TableStream => json!({
            "Records": [{
                "eventID": "c81e728d9d4c2f636f067f89cc14862c",
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1795435200,
                    "Keys": {
                        "PK": {"S": format!("MOVIE#{SAMPLE_ID}")},
                        "SK": {"S": "RECORD"}
                    },
                    "NewImage": {
                        "PK": {"S": format!("MOVIE#{SAMPLE_ID}")},
                        "SK": {"S": "RECORD"},
                        "GSI2PK": {"S": marquee::catalog::index::to_index_pk(SAMPLE_ID)},
                        "GSI2SK": {"S": SAMPLE_ID}
                    },
                    "SequenceNumber": "111100000000000000000001",
                    "SizeBytes": 120,
                    "StreamViewType": "NEW_IMAGE"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/marquee/stream/2026-12-05T00:00:00.000"
            }]
        }),
        Trigger::ExpiryQueue | Trigger::MailQueue => json!({
            "Records": [{
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": match function.trigger {
                    Trigger::MailQueue => r#"{"job":"password_reset","email":"viewer@example.com"}"#.to_string(),
                    _ => format!(r#"{{"pk":"SESSION#{SAMPLE_ID}","sk":"SESSION"}}"#),
                },
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795435200000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795435200001"
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:marquee-{}", function.name),
                "awsRegion": "us-east-1"
            }]
        }),
    };
    let mut text = serde_json::to_string_pretty(&event).expect("an event serialises");
    text.push('\n');
    text
}
