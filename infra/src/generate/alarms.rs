//! The root stack's alarms (what the features share: the API, the queues, the table, mail,
//! payments, and Lambda as a whole) and the dashboard. Each function's own error alarm is
//! in its feature stack ([`super::stack`]). docs/operations.md says what each one means
//! and what to do.

use marquee::metrics::{Metric, NAMESPACE};
use std::fmt::Write;

/// One alarm of the root stack.
pub struct Alarm {
    pub id: &'static str,
    /// What it means, shown in the notification; docs/operations.md has a section of this
    /// title.
    pub title: &'static str,
    namespace: &'static str,
    metric: &'static str,
    dimensions: &'static [(&'static str, &'static str)],
    statistic: &'static str,
    period: u32,
    evaluation_periods: u32,
    datapoints: u32,
    threshold: &'static str,
}

const fn alarm(
    id: &'static str,
    title: &'static str,
    namespace: &'static str,
    metric: &'static str,
    dimensions: &'static [(&'static str, &'static str)],
) -> Alarm {
    Alarm {
        id,
        title,
        namespace,
        metric,
        dimensions,
        statistic: "Sum",
        period: 300,
        evaluation_periods: 1,
        datapoints: 1,
        threshold: "1",
    }
}

impl Alarm {
    const fn statistic(mut self, statistic: &'static str) -> Self {
        self.statistic = statistic;
        self
    }
    const fn threshold(mut self, threshold: &'static str) -> Self {
        self.threshold = threshold;
        self
    }
    /// `datapoints` periods of `period` seconds out of `evaluation_periods` breach.
    const fn over(mut self, period: u32, datapoints: u32, evaluation_periods: u32) -> Self {
        self.period = period;
        self.datapoints = datapoints;
        self.evaluation_periods = evaluation_periods;
        self
    }
}

const API: &[(&str, &str)] = &[("ApiId", "!Ref HttpApi"), ("Stage", "$default")];
const TABLE: &[(&str, &str)] = &[("TableName", "!Ref Table")];

pub const ALARMS: &[Alarm] = &[
    alarm(
        "Api5xxRateAlarm",
        "API 5xx rate",
        "AWS/ApiGateway",
        "5xx",
        API,
    )
    .statistic("Average")
    .threshold("0.01")
    .over(300, 2, 3),
    alarm(
        "ApiLatencyAlarm",
        "API p99 latency",
        "AWS/ApiGateway",
        "Latency",
        API,
    )
    .statistic("p99")
    .threshold("2000")
    .over(300, 2, 3),
    alarm(
        "LambdaThrottlesAlarm",
        "Function throttles",
        "AWS/Lambda",
        "Throttles",
        &[],
    )
    .threshold("10"),
    alarm(
        "ExpiryDeadLettersAlarm",
        "Dead letters",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "!GetAtt ExpiryDeadLetterQueue.QueueName")],
    )
    .statistic("Maximum"),
    alarm(
        "MailDeadLettersAlarm",
        "Dead letters",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "!GetAtt MailDeadLetterQueue.QueueName")],
    )
    .statistic("Maximum"),
    alarm(
        "JobFailuresAlarm",
        "Schedule failures",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "!GetAtt JobFailureQueue.QueueName")],
    )
    .statistic("Maximum"),
    alarm(
        "ExpiryQueueAgeAlarm",
        "Queue age",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        &[("QueueName", "!GetAtt ExpiryQueue.QueueName")],
    )
    .statistic("Maximum")
    .threshold("900")
    .over(300, 2, 2),
    alarm(
        "MailQueueAgeAlarm",
        "Queue age",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        &[("QueueName", "!GetAtt MailQueue.QueueName")],
    )
    .statistic("Maximum")
    .threshold("300")
    .over(300, 2, 2),
    alarm(
        "TableReadThrottlesAlarm",
        "DynamoDB throttles",
        "AWS/DynamoDB",
        "ReadThrottleEvents",
        TABLE,
    )
    .threshold("20"),
    alarm(
        "TableWriteThrottlesAlarm",
        "DynamoDB throttles",
        "AWS/DynamoDB",
        "WriteThrottleEvents",
        TABLE,
    )
    .threshold("20"),
    alarm(
        "MailBounceRateAlarm",
        "SES bounces and complaints",
        "AWS/SES",
        "Reputation.BounceRate",
        &[],
    )
    .statistic("Maximum")
    .threshold("0.05")
    .over(3600, 1, 1),
    alarm(
        "MailComplaintRateAlarm",
        "SES bounces and complaints",
        "AWS/SES",
        "Reputation.ComplaintRate",
        &[],
    )
    .statistic("Maximum")
    .threshold("0.001")
    .over(3600, 1, 1),
    alarm(
        "WebhookSignatureFailuresAlarm",
        "Webhook signature failures",
        NAMESPACE,
        Metric::WebhookSignatureFailures.name(),
        &[],
    )
    .threshold("5"),
    alarm(
        "PaymentsRejectedAlarm",
        "Payments rejected",
        NAMESPACE,
        Metric::PaymentsRejected.name(),
        &[],
    ),
    alarm(
        "EmailsFailedAlarm",
        "Emails failed",
        NAMESPACE,
        Metric::EmailsFailed.name(),
        &[],
    )
    .threshold("5"),
    alarm(
        "IndexLagAlarm",
        "Index lag",
        NAMESPACE,
        Metric::ProjectionLagSeconds.name(),
        &[],
    )
    .statistic("Maximum")
    .threshold("600")
    .over(300, 2, 2),
];

/// The DynamoDB operations whose system errors are summed into one alarm.
const TABLE_OPERATIONS: [&str; 9] = [
    "GetItem",
    "BatchGetItem",
    "Query",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
];

fn dimensions(out: &mut String, dimensions: &[(&str, &str)], indent: &str) {
    if dimensions.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}Dimensions:");
    for (name, value) in dimensions {
        let value = if value.starts_with('!') {
            value.to_string()
        } else {
            format!("\"{value}\"")
        };
        let _ = writeln!(out, "{indent}  - Name: {name}\n{indent}    Value: {value}");
    }
}

pub fn shared_alarms(out: &mut String) {
    for alarm in ALARMS {
        let _ = write!(
            out,
            "\n  {id}:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      AlarmDescription: \"{title}: see docs/operations.md, {title}\"\n      Namespace: {namespace}\n      MetricName: {metric}\n",
            id = alarm.id,
            title = alarm.title,
            namespace = alarm.namespace,
            metric = alarm.metric,
        );
        dimensions(out, alarm.dimensions, "      ");
        let statistic = if alarm.statistic.starts_with('p') {
            format!("ExtendedStatistic: {}", alarm.statistic)
        } else {
            format!("Statistic: {}", alarm.statistic)
        };
        let _ = write!(
            out,
            "      {statistic}\n      Period: {period}\n      EvaluationPeriods: {evaluation}\n      DatapointsToAlarm: {datapoints}\n      Threshold: {threshold}\n      ComparisonOperator: GreaterThanOrEqualToThreshold\n      TreatMissingData: notBreaching\n      AlarmActions:\n        - !Ref AlarmTopic\n      OKActions:\n        - !Ref AlarmTopic\n",
            period = alarm.period,
            evaluation = alarm.evaluation_periods,
            datapoints = alarm.datapoints,
            threshold = alarm.threshold,
        );
    }
    // DynamoDB's system errors are per operation: one alarm on their sum.
    out.push_str(
        "\n  TableSystemErrorsAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      AlarmDescription: \"DynamoDB system errors: see docs/operations.md, DynamoDB system errors\"\n      Metrics:\n",
    );
    let ids: Vec<String> = (0..TABLE_OPERATIONS.len())
        .map(|i| format!("e{i}"))
        .collect();
    let _ = write!(
        out,
        "        - Id: total\n          Expression: SUM([{}])\n          ReturnData: true\n",
        ids.join(", ")
    );
    for (id, operation) in ids.iter().zip(TABLE_OPERATIONS) {
        let _ = write!(
            out,
            "        - Id: {id}\n          ReturnData: false\n          MetricStat:\n            Stat: Sum\n            Period: 300\n            Metric:\n              Namespace: AWS/DynamoDB\n              MetricName: SystemErrors\n              Dimensions:\n                - Name: TableName\n                  Value: !Ref Table\n                - Name: Operation\n                  Value: {operation}\n"
        );
    }
    out.push_str("      EvaluationPeriods: 1\n      Threshold: 5\n      ComparisonOperator: GreaterThanOrEqualToThreshold\n      TreatMissingData: notBreaching\n      AlarmActions:\n        - !Ref AlarmTopic\n      OKActions:\n        - !Ref AlarmTopic\n");
}

/// A dashboard widget of metric lines: `metrics` are CloudWatch's
/// `[namespace, name, dimension, value, ...]` arrays, written as JSON with `${...}`
/// references that `!Sub` resolves.
fn widget(title: &str, metrics: &[String], stat: &str, x: u32, y: u32) -> String {
    format!(
        r#"{{"type":"metric","x":{x},"y":{y},"width":12,"height":6,"properties":{{"title":"{title}","view":"timeSeries","region":"${{AWS::Region}}","stat":"{stat}","period":300,"metrics":[{}]}}}}"#,
        metrics.join(",")
    )
}

fn business(metrics: &[Metric]) -> Vec<String> {
    metrics
        .iter()
        .map(|m| format!(r#"["{NAMESPACE}","{}"]"#, m.name()))
        .collect()
}

/// The route whose calls are the list pages the CDN did not answer.
pub const LIST_PAGES_ROUTE: &str = "movies-list";
/// The routes that change a movie's counts, each of which the stream indexer projects onto
/// the movie's shelves (docs/cost.md weighs that against the list pages at the origin).
pub const COUNT_CHANGE_ROUTES: [&str; 6] = [
    "movies-reaction-set",
    "movies-reaction-clear",
    "movies-rating-set",
    "movies-rating-clear",
    "favorites-add",
    "favorites-remove",
];

/// The routes whose functions the dashboard reads by name: their feature stacks name them
/// in an output ([`super::stack::function_name_output`]).
pub fn routes_on_dashboard() -> impl Iterator<Item = &'static str> {
    std::iter::once(LIST_PAGES_ROUTE).chain(COUNT_CHANGE_ROUTES)
}

/// A route's invocations, its function named by its feature stack's output.
fn invocations(route: &str, id: &str) -> String {
    format!(
        r#"["AWS/Lambda","Invocations","FunctionName","${{{stack}.Outputs.{output}}}",{{"id":"{id}","visible":false}}]"#,
        stack = super::stack::stack_id(super::stack::stack_of(route)),
        output = super::stack::function_name_output(route),
    )
}

/// List pages at the origin per change to a movie's counts, by the hour: the measured
/// ratio that decides the layout of the lists (docs/cost.md).
fn pages_per_count_change() -> String {
    let mut metrics = vec![
        r#"[{"expression":"FILL(pages,0)/SUM(FILL(METRICS(\"clicks\"),0))","label":"list pages at the origin per like, dislike, rating or favourite","id":"ratio"}]"#.to_string(),
        invocations(LIST_PAGES_ROUTE, "pages"),
    ];
    metrics.extend(
        COUNT_CHANGE_ROUTES
            .iter()
            .enumerate()
            .map(|(n, route)| invocations(route, &format!("clicks{n}"))),
    );
    format!(
        r#"{{"type":"metric","x":12,"y":24,"width":12,"height":6,"properties":{{"title":"List pages at the origin per change of movie counts","view":"timeSeries","region":"${{AWS::Region}}","stat":"Sum","period":3600,"yAxis":{{"left":{{"min":0}}}},"metrics":[{}]}}}}"#,
        metrics.join(",")
    )
}

/// One dashboard of what the alarms watch, and the business metrics.
pub fn dashboard(out: &mut String) {
    let api = r#""ApiId","${HttpApi}","Stage","$default""#;
    let queue = |name: &str, metric: &str| {
        format!(r#"["AWS/SQS","{metric}","QueueName","${{{name}.QueueName}}"]"#)
    };
    let widgets = [
        widget(
            "API requests and errors",
            &[
                format!(r#"["AWS/ApiGateway","Count",{api}]"#),
                format!(r#"["AWS/ApiGateway","4xx",{api}]"#),
                format!(r#"["AWS/ApiGateway","5xx",{api}]"#),
            ],
            "Sum",
            0,
            0,
        ),
        widget(
            "API latency p99 (ms)",
            &[format!(r#"["AWS/ApiGateway","Latency",{api}]"#)],
            "p99",
            12,
            0,
        ),
        widget(
            "Functions: errors and throttles (all)",
            &[
                r#"["AWS/Lambda","Errors"]"#.into(),
                r#"["AWS/Lambda","Throttles"]"#.into(),
                r#"["AWS/Lambda","ConcurrentExecutions",{"stat":"Maximum"}]"#.into(),
            ],
            "Sum",
            0,
            6,
        ),
        widget(
            "Queues: oldest message (s) and dead letters",
            &[
                queue("ExpiryQueue", "ApproximateAgeOfOldestMessage"),
                queue("MailQueue", "ApproximateAgeOfOldestMessage"),
                queue(
                    "ExpiryDeadLetterQueue",
                    "ApproximateNumberOfMessagesVisible",
                ),
                queue("MailDeadLetterQueue", "ApproximateNumberOfMessagesVisible"),
                queue("JobFailureQueue", "ApproximateNumberOfMessagesVisible"),
            ],
            "Maximum",
            12,
            6,
        ),
        widget(
            "DynamoDB: capacity and throttles",
            &[
                r#"["AWS/DynamoDB","ConsumedReadCapacityUnits","TableName","${Table}"]"#.into(),
                r#"["AWS/DynamoDB","ConsumedWriteCapacityUnits","TableName","${Table}"]"#.into(),
                r#"["AWS/DynamoDB","ReadThrottleEvents","TableName","${Table}"]"#.into(),
                r#"["AWS/DynamoDB","WriteThrottleEvents","TableName","${Table}"]"#.into(),
            ],
            "Sum",
            0,
            12,
        ),
        widget(
            "Accounts",
            &business(&[
                Metric::SignUps,
                Metric::SignIns,
                Metric::SignInFailures,
                Metric::MfaFailures,
            ]),
            "Sum",
            12,
            12,
        ),
        widget(
            "Commerce",
            &business(&[
                Metric::OrdersPlaced,
                Metric::CheckoutsStarted,
                Metric::PaymentsSettled,
                Metric::PaymentsRejected,
                Metric::WebhookSignatureFailures,
                Metric::Refunds,
            ]),
            "Sum",
            0,
            18,
        ),
        widget(
            "Mail, playback and the index",
            &business(&[
                Metric::EmailsSent,
                Metric::EmailsFailed,
                Metric::PlaybackGrants,
                Metric::IndexBacklog,
            ]),
            "Sum",
            12,
            18,
        ),
        widget(
            "Index lag (s, the longest wait)",
            &business(&[Metric::ProjectionLagSeconds]),
            "Maximum",
            0,
            24,
        ),
        pages_per_count_change(),
    ];
    let _ = write!(
        out,
        "\n  Dashboard:\n    Type: AWS::CloudWatch::Dashboard\n    Properties:\n      DashboardName: !Sub \"${{AWS::StackName}}\"\n      DashboardBody: !Sub '{{\"widgets\":[{}]}}'\n",
        widgets.join(",")
    );
}
