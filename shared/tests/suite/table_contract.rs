//! The `Table` contract: the same test bodies run against the SQLite adapter and against
//! DynamoDB (the local AWS stand-in), so the embedded backend behaves like production.

use crate::support;

use marquee::store::{
    Cmp, Condition, Index, Item, Key, Query, SortKey, StoreError, Table, Update, Write, Written,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

fn item(v: Value) -> Item {
    v.as_object().expect("an object").clone()
}

fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["SK"].as_str().unwrap().to_string())
        .collect()
}

async fn put(t: &dyn Table, v: Value) {
    t.write(Write::put(item(v))).await.unwrap();
}

async fn put_get_round_trips_every_value_type(t: Arc<dyn Table>) {
    let original = item(json!({
        "PK": "movie#1", "SK": "meta", "title": "Brève rencontre", "year": 1945,
        "rating": 7.5, "available": true, "gone": null,
        "price": {"amount": 499, "currency": "EUR"}, "regions": ["FR", "GB"],
        "empty_list": [], "note": ""
    }));
    t.write(Write::put(original.clone())).await.unwrap();
    let got = t.get(&Key::new("movie#1", "meta")).await.unwrap().unwrap();
    assert_eq!(got, original);
    assert_eq!(t.get(&Key::new("movie#1", "other")).await.unwrap(), None);
}

async fn conditional_put_refuses_a_second_create(t: Arc<dyn Table>) {
    let first = Write::put(item(
        json!({"PK": "EMAIL#a@b.c", "SK": "EMAIL", "user": "1"}),
    ))
    .when(Condition::NotExists);
    t.write(first).await.unwrap();
    let second = Write::put(item(
        json!({"PK": "EMAIL#a@b.c", "SK": "EMAIL", "user": "2"}),
    ))
    .when(Condition::NotExists);
    assert_eq!(t.write(second).await, Err(StoreError::ConditionFailed));
    let kept = t
        .get(&Key::new("EMAIL#a@b.c", "EMAIL"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept["user"], "1");
}

async fn update_upserts_sets_removes_adds_and_returns_the_new_item(t: Arc<dyn Table>) {
    let key = Key::new("movie#2", "stats");
    let created = t
        .write(Write::update(
            key.clone(),
            // Two additions to one attribute are one addition of their sum.
            Update::new()
                .set("title", "Heat")
                .add("likes", 3)
                .add("likes", -2),
        ))
        .await
        .unwrap();
    let Written::Updated(created) = created else {
        panic!("expected the new item")
    };
    assert_eq!(created["likes"], 1);
    assert_eq!(created["PK"], "movie#2");
    let updated = t
        .write(Write::update(
            key.clone(),
            Update::new()
                .remove("title")
                .add("likes", 2)
                .add("dislikes", -1)
                .set("v", 2),
        ))
        .await
        .unwrap();
    assert_eq!(
        updated,
        Written::Updated(item(json!({
            "PK": "movie#2", "SK": "stats", "likes": 3, "dislikes": -1, "v": 2
        })))
    );
}

async fn set_if_absent_keeps_the_first_value_until_removed(t: Arc<dyn Table>) {
    let key = Key::new("movie#3", "stats");
    let first = Update::new().set_if_absent("since", 100).add("likes", 1);
    t.write(Write::update(key.clone(), first)).await.unwrap();
    // A later write keeps the first value, in a transaction as alone.
    let later = Update::new().set_if_absent("since", 200).add("likes", 1);
    t.transact(vec![Write::update(key.clone(), later.clone())])
        .await
        .unwrap();
    let kept = t.write(Write::update(key.clone(), later)).await.unwrap();
    assert_eq!(
        kept,
        Written::Updated(item(
            json!({"PK": "movie#3", "SK": "stats", "since": 100, "likes": 3})
        ))
    );
    t.write(Write::update(key.clone(), Update::new().remove("since")))
        .await
        .unwrap();
    let again = Update::new().set_if_absent("since", 300);
    t.write(Write::update(key.clone(), again)).await.unwrap();
    assert_eq!(t.get(&key).await.unwrap().unwrap()["since"], 300);
}

async fn conditional_update_fails_without_changing_anything(t: Arc<dyn Table>) {
    let key = Key::new("movie#3", "meta");
    put(
        &*t,
        json!({"PK": "movie#3", "SK": "meta", "version": 3, "title": "Alien"}),
    )
    .await;
    let stale = Write::update(
        key.clone(),
        Update::new().set("title", "Aliens").add("version", 1),
    )
    .when(Condition::eq("version", 2));
    assert_eq!(t.write(stale).await, Err(StoreError::ConditionFailed));
    let fresh = Write::update(
        key.clone(),
        Update::new().set("title", "Aliens").add("version", 1),
    )
    .when(Condition::eq("version", 3));
    t.write(fresh).await.unwrap();
    let now = t.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (now["title"].as_str(), now["version"].as_i64()),
        (Some("Aliens"), Some(4))
    );
    let guarded = Write::update(key.clone(), Update::new().add("seats_sold", 1))
        .when(Condition::Exists.and(Condition::compare("version", Cmp::Lt, 4)));
    assert_eq!(t.write(guarded).await, Err(StoreError::ConditionFailed));
    let missing = Write::update(Key::new("movie#404", "meta"), Update::new().set("x", 1))
        .when(Condition::Exists);
    assert_eq!(t.write(missing).await, Err(StoreError::ConditionFailed));
    assert_eq!(t.get(&Key::new("movie#404", "meta")).await.unwrap(), None);
}

async fn delete_returns_the_old_item_and_can_be_single_use(t: Arc<dyn Table>) {
    let key = Key::new("TOKEN#h", "TOKEN");
    put(&*t, json!({"PK": "TOKEN#h", "SK": "TOKEN", "user": "7"})).await;
    let once = Write::delete(key.clone()).when(Condition::Exists);
    let Written::Deleted(Some(old)) = t.write(once.clone()).await.unwrap() else {
        panic!("expected the deleted item")
    };
    assert_eq!(old["user"], "7");
    assert_eq!(t.write(once).await, Err(StoreError::ConditionFailed));
    assert_eq!(
        t.write(Write::delete(key)).await.unwrap(),
        Written::Deleted(None)
    );
}

async fn transaction_is_all_or_nothing_and_names_the_failed_condition(t: Arc<dyn Table>) {
    put(&*t, json!({"PK": "show#1", "SK": "meta", "seats_left": 1})).await;
    let writes = |n: i64| {
        vec![
            Write::put(item(json!({"PK": "order#1", "SK": "meta", "seats": n})))
                .when(Condition::NotExists),
            Write::update(Key::new("user#1", "stats"), Update::new().add("orders", 1)),
            Write::update(
                Key::new("show#1", "meta"),
                Update::new().add("seats_left", -n),
            )
            .when(Condition::compare("seats_left", Cmp::Ge, n)),
        ]
    };
    assert_eq!(
        t.transact(writes(2)).await,
        Err(StoreError::TransactionCanceled { failed: vec![2] })
    );
    assert_eq!(t.get(&Key::new("order#1", "meta")).await.unwrap(), None);
    assert_eq!(t.get(&Key::new("user#1", "stats")).await.unwrap(), None);
    t.transact(writes(1)).await.unwrap();
    assert_eq!(
        t.get(&Key::new("show#1", "meta")).await.unwrap().unwrap()["seats_left"],
        0
    );
    assert_eq!(
        t.get(&Key::new("user#1", "stats")).await.unwrap().unwrap()["orders"],
        1
    );
    // Both the put and the seat update fail now; both are named, and the update of an
    // item that exists is undone with the rest.
    assert_eq!(
        t.transact(writes(1)).await,
        Err(StoreError::TransactionCanceled { failed: vec![0, 2] })
    );
    assert_eq!(
        t.get(&Key::new("user#1", "stats")).await.unwrap().unwrap()["orders"],
        1
    );
}

async fn transaction_checks_and_deletes(t: Arc<dyn Table>) {
    put(&*t, json!({"PK": "user#2", "SK": "meta", "active": true})).await;
    put(&*t, json!({"PK": "session#9", "SK": "meta"})).await;
    let revoke = |active: bool| {
        vec![
            Write::check(Key::new("user#2", "meta"), Condition::eq("active", active)),
            Write::delete(Key::new("session#9", "meta")).when(Condition::Exists),
        ]
    };
    assert_eq!(
        t.transact(revoke(false)).await,
        Err(StoreError::TransactionCanceled { failed: vec![0] })
    );
    assert!(
        t.get(&Key::new("session#9", "meta"))
            .await
            .unwrap()
            .is_some()
    );
    t.transact(revoke(true)).await.unwrap();
    assert!(
        t.get(&Key::new("session#9", "meta"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn transaction_and_write_refuse_malformed_requests(t: Arc<dyn Table>) {
    let twice = vec![
        Write::update(Key::new("a", "b"), Update::new().add("n", 1)),
        Write::delete(Key::new("a", "b")),
    ];
    assert!(matches!(
        t.transact(twice).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        t.transact(vec![]).await,
        Err(StoreError::Invalid(_))
    ));
    let check_alone = Write::check(Key::new("a", "b"), Condition::Exists);
    assert!(matches!(
        t.write(check_alone).await,
        Err(StoreError::Invalid(_))
    ));
    let keyless = Write::put(item(json!({"title": "no key"})));
    assert!(matches!(
        t.write(keyless).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn seed_partition(t: &dyn Table, pk: &str, n: usize) {
    let writes: Vec<Write> = (0..n)
        .map(|i| Write::put(item(json!({"PK": pk, "SK": format!("C#{i:03}"), "n": i}))))
        .collect();
    for chunk in writes.chunks(25) {
        t.transact(chunk.to_vec()).await.unwrap();
    }
}

async fn query_applies_sort_key_conditions_in_both_directions(t: Arc<dyn Table>) {
    seed_partition(&*t, "movie#q", 12).await;
    put(&*t, json!({"PK": "movie#q", "SK": "META"})).await;
    put(&*t, json!({"PK": "movie#other", "SK": "C#000"})).await;
    let run = |q: Query| {
        let t = t.clone();
        async move { sks(&t.query(&q).await.unwrap().items) }
    };
    let all = run(Query::partition("movie#q").sort_key(SortKey::BeginsWith("C#".into()))).await;
    assert_eq!(all.len(), 12);
    assert_eq!(all.first().unwrap(), "C#000");
    let desc = run(Query::partition("movie#q")
        .sort_key(SortKey::BeginsWith("C#".into()))
        .descending()
        .limit(3))
    .await;
    assert_eq!(desc, vec!["C#011", "C#010", "C#009"]);
    let between =
        run(Query::partition("movie#q").sort_key(SortKey::Between("C#003".into(), "C#005".into())))
            .await;
    assert_eq!(between, vec!["C#003", "C#004", "C#005"]);
    assert_eq!(
        run(Query::partition("movie#q").sort_key(SortKey::Gt("C#010".into()))).await,
        vec!["C#011", "META"]
    );
    assert_eq!(
        run(Query::partition("movie#q").sort_key(SortKey::Le("C#001".into()))).await,
        vec!["C#000", "C#001"]
    );
    assert_eq!(
        run(Query::partition("movie#q").sort_key(SortKey::Eq("META".into()))).await,
        vec!["META"]
    );
    assert_eq!(run(Query::partition("nobody")).await, Vec::<String>::new());
}

async fn pages_cover_everything_once_and_the_last_page_says_so(t: Arc<dyn Table>) {
    seed_partition(&*t, "movie#p", 25).await;
    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let mut q = Query::partition("movie#p").limit(10).after(cursor);
            if !forward {
                q = q.descending();
            }
            let page = t.query(&q).await.unwrap();
            pages += 1;
            seen.extend(sks(&page.items));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(pages, 3, "10 + 10 + 5");
        let mut expected: Vec<String> = (0..25).map(|i| format!("C#{i:03}")).collect();
        if !forward {
            expected.reverse();
        }
        assert_eq!(seen, expected);
    }
    // Exactly one full page: no cursor promising more.
    seed_partition(&*t, "movie#exact", 10).await;
    let page = t
        .query(&Query::partition("movie#exact").limit(10))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (10, None));
}

async fn index_queries_are_sparse_ordered_and_paginate_through_ties(t: Arc<dyn Table>) {
    for i in 0..7 {
        put(&*t, json!({
            "PK": format!("movie#{i}"), "SK": "META",
            "GSI1PK": "GENRE#drama", "GSI1SK": if i < 4 { "Y#1999".to_string() } else { format!("Y#200{i}") }
        }))
        .await;
    }
    put(
        &*t,
        json!({"PK": "movie#x", "SK": "META", "GSI1PK": "GENRE#drama"}),
    )
    .await;
    put(
        &*t,
        json!({"PK": "movie#y", "SK": "META", "GSI1PK": "GENRE#comedy", "GSI1SK": "Y#1999"}),
    )
    .await;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = t
            .query(&Query::on(Index::Gsi1, "GENRE#drama").limit(3).after(cursor))
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|i| {
            (
                i["GSI1SK"].as_str().unwrap().to_string(),
                i["PK"].as_str().unwrap().to_string(),
            )
        }));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        7,
        "the item without GSI1SK is not in the index: {seen:?}"
    );
    let distinct: HashSet<_> = seen.iter().map(|(_, pk)| pk.clone()).collect();
    assert_eq!(distinct.len(), 7, "no item twice across pages");
    let years: Vec<&str> = seen.iter().map(|(sk, _)| sk.as_str()).collect();
    assert_eq!(
        years,
        vec![
            "Y#1999", "Y#1999", "Y#1999", "Y#1999", "Y#2004", "Y#2005", "Y#2006"
        ]
    );
    let newest = t
        .query(
            &Query::on(Index::Gsi1, "GENRE#drama")
                .sort_key(SortKey::Ge("Y#2005".into()))
                .descending(),
        )
        .await
        .unwrap();
    assert_eq!(
        newest
            .items
            .iter()
            .map(|i| i["PK"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["movie#6", "movie#5"]
    );
}

async fn projected_queries_read_only_the_named_attributes_and_page_alike(t: Arc<dyn Table>) {
    for i in 0..5 {
        put(&*t, json!({
            "PK": format!("movie#{i}"), "SK": "META", "GSI2PK": "SHELF", "GSI2SK": format!("K#{i}"),
            "card": format!("{{\"id\":{i}}}"), "words": ["a", "b"], "score": i, "gone": null,
            "nested": {"x": [1, 2]}
        }))
        .await;
    }
    const ATTRS: &[&str] = &["card", "score", "gone", "nested", "absent"];
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = t
            .query(
                &Query::on(Index::Gsi2, "SHELF")
                    .descending()
                    .limit(2)
                    .after(cursor)
                    .attributes(ATTRS),
            )
            .await
            .unwrap();
        seen.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    for (n, got) in seen.iter().enumerate() {
        let i = 4 - n;
        // The position's keys come along (cursors are made from them); nothing else does.
        assert_eq!(
            got,
            &item(json!({
                "PK": format!("movie#{i}"), "SK": "META", "GSI2PK": "SHELF", "GSI2SK": format!("K#{i}"),
                "card": format!("{{\"id\":{i}}}"), "score": i, "gone": null, "nested": {"x": [1, 2]}
            }))
        );
    }
}

async fn cursors_are_checked(t: Arc<dyn Table>) {
    seed_partition(&*t, "movie#c", 3).await;
    seed_partition(&*t, "movie#d", 3).await;
    let page = t
        .query(&Query::partition("movie#c").limit(1))
        .await
        .unwrap();
    let cursor = page.next_cursor.expect("more pages");
    let elsewhere = t
        .query(
            &Query::partition("movie#d")
                .limit(1)
                .after(Some(cursor.clone())),
        )
        .await;
    assert_eq!(elsewhere, Err(StoreError::InvalidCursor));
    let on_index = t
        .query(&Query::on(Index::Gsi2, "movie#c").after(Some(cursor)))
        .await;
    assert_eq!(on_index, Err(StoreError::InvalidCursor));
    for junk in ["", "%%%", "bm90IGpzb24", "eyJQSyI6MX0"] {
        let q = Query::partition("movie#c").after(Some(junk.to_string()));
        assert_eq!(
            t.query(&q).await,
            Err(StoreError::InvalidCursor),
            "cursor {junk:?}"
        );
    }
    let too_many = Query::partition("movie#c").limit(5000);
    assert!(matches!(
        t.query(&too_many).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn batch_get_returns_what_exists_beyond_one_call(t: Arc<dyn Table>) {
    seed_partition(&*t, "movie#b", 120).await;
    let mut keys: Vec<Key> = (0..120)
        .map(|i| Key::new("movie#b", format!("C#{i:03}")))
        .collect();
    keys.push(Key::new("movie#b", "missing"));
    // A key given twice is read once.
    keys.push(Key::new("movie#b", "C#007"));
    let found = t.batch_get(&keys).await.unwrap();
    assert_eq!(found.len(), 120);
    let distinct: HashSet<String> = sks(&found).into_iter().collect();
    assert_eq!(distinct.len(), 120);
    assert!(t.batch_get(&[]).await.unwrap().is_empty());
}

async fn batch_write_puts_and_deletes_beyond_one_call(t: Arc<dyn Table>) {
    seed_partition(&*t, "movie#w", 10).await;
    let mut writes: Vec<Write> = (0..40)
        .map(|i| {
            Write::put(item(
                json!({"PK": "movie#w", "SK": format!("N#{i:02}"), "n": i}),
            ))
        })
        .collect();
    writes.extend((0..10).map(|i| Write::delete(Key::new("movie#w", format!("C#{i:03}")))));
    t.batch_write(writes).await.unwrap();
    let page = t
        .query(&Query::partition("movie#w").limit(100))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 40);
    assert!(sks(&page.items).iter().all(|sk| sk.starts_with("N#")));
    let conditional =
        Write::put(item(json!({"PK": "movie#w", "SK": "X"}))).when(Condition::NotExists);
    assert!(matches!(
        t.batch_write(vec![conditional]).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(t.get(&Key::new("movie#w", "X")).await.unwrap().is_none());
}

/// A key written more than once in one batch ends as its last write says, within one
/// call's worth of writes and across calls, as when the writes are made one by one.
async fn batch_write_keeps_the_last_write_of_a_key(t: Arc<dyn Table>) {
    let put = |sk: &str, n: i64| Write::put(item(json!({"PK": "movie#last", "SK": sk, "n": n})));
    let mut writes = vec![
        put("A", 1),
        put("A", 2),
        put("B", 1),
        Write::delete(Key::new("movie#last", "B")),
    ];
    // Past the first call's worth of writes: the same keys again.
    writes.extend((0..60).map(|i| put(&format!("F#{i:02}"), i)));
    writes.extend([
        put("A", 3),
        put("B", 3),
        Write::delete(Key::new("movie#last", "F#07")),
    ]);
    writes.push(put("F#07", 70));
    t.batch_write(writes).await.unwrap();
    let found = |sk: &'static str| {
        let t = t.clone();
        async move {
            t.get(&Key::new("movie#last", sk))
                .await
                .unwrap()
                .map(|i| i["n"].clone())
        }
    };
    assert_eq!(found("A").await, Some(json!(3)));
    assert_eq!(found("B").await, Some(json!(3)));
    assert_eq!(found("F#07").await, Some(json!(70)));
    let page = t
        .query(&Query::partition("movie#last").limit(100))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 62);

    t.batch_write(vec![
        put("C", 1),
        Write::delete(Key::new("movie#last", "C")),
    ])
    .await
    .unwrap();
    assert_eq!(found("C").await, None);
}

async fn concurrent_counter_updates_are_exact(t: Arc<dyn Table>) {
    let key = Key::new("movie#hot", "stats");
    let tasks: Vec<_> = (0..25)
        .map(|i| {
            let t = t.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let per_user =
                    Write::put(item(json!({"PK": "movie#hot", "SK": format!("LIKE#{i}")})))
                        .when(Condition::NotExists);
                let counter = Write::update(key, Update::new().add("likes", 1));
                loop {
                    match t.transact(vec![per_user.clone(), counter.clone()]).await {
                        Err(StoreError::Conflict) => tokio::task::yield_now().await,
                        other => return other,
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(t.get(&key).await.unwrap().unwrap()["likes"], 25);
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = super::support::sqlite_table();
                    super::$case(fixture.table.clone()).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs the AWS stand-in: ./infra/test starts it"]
                async fn $case() {
                    super::$case(super::support::dynamo_table().await).await;
                }
            )*
        }
    };
}

contract!(
    put_get_round_trips_every_value_type,
    conditional_put_refuses_a_second_create,
    update_upserts_sets_removes_adds_and_returns_the_new_item,
    set_if_absent_keeps_the_first_value_until_removed,
    conditional_update_fails_without_changing_anything,
    delete_returns_the_old_item_and_can_be_single_use,
    transaction_is_all_or_nothing_and_names_the_failed_condition,
    transaction_checks_and_deletes,
    transaction_and_write_refuse_malformed_requests,
    query_applies_sort_key_conditions_in_both_directions,
    pages_cover_everything_once_and_the_last_page_says_so,
    index_queries_are_sparse_ordered_and_paginate_through_ties,
    projected_queries_read_only_the_named_attributes_and_page_alike,
    cursors_are_checked,
    batch_get_returns_what_exists_beyond_one_call,
    batch_write_puts_and_deletes_beyond_one_call,
    batch_write_keeps_the_last_write_of_a_key,
    concurrent_counter_updates_are_exact,
);
