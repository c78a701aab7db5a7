//! Comments with replies. A thread is one run of keys in the movie's partition:
//! `COMMENT#<root>` then `COMMENT#<root>#<reply>`, so listing in key order is listing by
//! thread, each reply after its root, one query per page. Ids are ULIDs (time-ordered).
//! A pointer item `COMMENT#<id>` finds a comment's movie for edits and deletions.
//! Deleting keeps the item (without its text), so replies keep their place.

use crate::catalog::index;
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use marquee_accounts::accounts::user;
use marquee_accounts::notifications::Template;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::pagination::{Page, page_limit};
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, Query, validate};
use marquee_core::role::Role;
use marquee_core::store::{
    self, Condition, Key, SortKey, StoreError, Update, Write, entity_item, from_entity_item,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    #[garde(length(chars, min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
    /// The comment this one answers.
    #[garde(length(chars, min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentEdit {
    #[garde(length(chars, min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: String,
    pub movie_id: String,
    pub author_id: String,
    pub author_name: String,
    /// `null` once deleted.
    pub text: Option<String>,
    pub parent_id: Option<String>,
    /// The thread's first comment.
    pub thread_id: String,
    /// 0 for a thread's first comment, 1 for replies.
    pub depth: u8,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    #[serde(default)]
    pub deleted: bool,
}

fn comment_key(movie_id: &str, thread_id: &str, id: &str) -> Key {
    let sk = if thread_id == id {
        format!("COMMENT#{id}")
    } else {
        format!("COMMENT#{thread_id}#{id}")
    };
    Key::new(format!("MOVIE#{movie_id}"), sk)
}

fn pointer_key(id: &str) -> Key {
    Key::new(format!("COMMENT#{id}"), "POINTER")
}

fn no_comment() -> Problem {
    Problem::not_found("No such comment")
}

/// A comment by id, through its pointer.
async fn find(app: &App, id: &str) -> Result<Comment, Problem> {
    let pointer = app
        .table
        .get(&pointer_key(id))
        .await?
        .ok_or_else(no_comment)?;
    let field = |name: &str| {
        pointer
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(Problem::internal)
    };
    let key = comment_key(&field("movie_id")?, &field("thread_id")?, id);
    let item = app.table.get(&key).await?.ok_or_else(no_comment)?;
    Ok(from_entity_item("comment", item)?)
}

/// 422 on `parent_id`: the comment a reply answers is not one it may answer.
fn bad_parent(message: String) -> Problem {
    Problem::validation(vec![FieldError {
        field: "parent_id".into(),
        message,
    }])
}

fn parent_deleted() -> Problem {
    bad_parent("names a deleted comment, which takes no more replies".into())
}

fn display_name(author: &user::User) -> String {
    match (&author.first_name, &author.last_name) {
        (Some(first), Some(last)) => format!("{first} {}", last.chars().next().unwrap_or(' '))
            .trim()
            .to_string(),
        (Some(first), None) => first.clone(),
        _ => author
            .email
            .split('@')
            .next()
            .unwrap_or("viewer")
            .to_string(),
    }
}

pub async fn create(
    State(app): State<App>,
    caller: Principal,
    Path(movie_id): Path<String>,
    Json(input): Json<CommentInput>,
) -> Result<(StatusCode, axum::Json<Comment>), Problem> {
    let mut errors = validate::fields(&input);
    validate::not_blank(&mut errors, "text", &input.text);
    validate::finish(errors)?;
    let parent = match &input.parent_id {
        Some(parent_id) => {
            let unknown = || bad_parent(format!("no comment on this movie has the id {parent_id}"));
            let parent = find(&app, parent_id).await.map_err(|_| unknown())?;
            if parent.movie_id != movie_id {
                return Err(unknown());
            }
            if parent.deleted {
                return Err(parent_deleted());
            }
            Some(parent)
        }
        None => None,
    };
    let author = user::find(&app, &caller.user_id)
        .await?
        .ok_or_else(Problem::unauthorized)?;
    let id = ulid::Ulid::new().to_string();
    let thread_id = parent
        .as_ref()
        .map_or_else(|| id.clone(), |p| p.thread_id.clone());
    let comment = Comment {
        id: id.clone(),
        movie_id: movie_id.clone(),
        author_id: caller.user_id.clone(),
        author_name: display_name(&author),
        text: Some(input.text.trim().to_string()),
        parent_id: parent.as_ref().map(|p| p.id.clone()),
        depth: u8::from(parent.is_some()),
        thread_id: thread_id.clone(),
        created_at: app.clock.now().unix_timestamp(),
        edited_at: None,
        deleted: false,
    };
    let pointer = entity_item(
        "comment_pointer",
        &pointer_key(&id),
        &serde_json::json!({"movie_id": movie_id, "thread_id": thread_id}),
    );
    // The email to the author answered is owed in the same transaction as the reply.
    let owed = match &parent {
        Some(parent) if parent.author_id != caller.user_id => {
            reply_notice(&app, parent, &comment).await?
        }
        _ => None,
    }
    .map(|notice| notice.owe(comment.created_at));
    let mut writes = vec![
        Write::update(
            index::record_key(&movie_id),
            Update::new().add("comment_count", 1),
        )
        .when(Condition::Exists),
        Write::put(entity_item(
            "comment",
            &comment_key(&movie_id, &thread_id, &id),
            &comment,
        ))
        .when(Condition::NotExists),
        Write::put(pointer).when(Condition::NotExists),
    ];
    // The comment answered may be deleted after it was read: the reply is refused then too.
    let parent_check = parent.as_ref().map(|p| {
        writes.push(Write::check(
            comment_key(&p.movie_id, &p.thread_id, &p.id),
            Condition::eq("deleted", false),
        ));
        writes.len() - 1
    });
    writes.extend(owed.iter().map(|o| o.write.clone()));
    match app.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
            return Err(super::no_movie());
        }
        Err(StoreError::TransactionCanceled { failed })
            if parent_check.is_some_and(|i| failed.contains(&i)) =>
        {
            return Err(parent_deleted());
        }
        Err(e) => return Err(e.into()),
    }
    marquee_accounts::mail_jobs::send_owed(&app, owed).await;
    Ok((StatusCode::CREATED, axum::Json(comment)))
}

/// The email that tells the author of the comment answered about the reply (none when
/// that account is gone).
async fn reply_notice(
    app: &App,
    parent: &Comment,
    reply: &Comment,
) -> Result<Option<marquee_accounts::mail_jobs::MailJob>, Problem> {
    let Some(author) = user::find(app, &parent.author_id).await? else {
        return Ok(None);
    };
    let title = app
        .table
        .get(&index::record_key(&parent.movie_id))
        .await?
        .and_then(|item| {
            Some(
                item.get("fields")?
                    .get("title")?
                    .as_str()?
                    .trim()
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "a movie".to_string());
    let link = format!(
        "{}/#/movies/{}?comment={}",
        app.config.public_url.trim_end_matches('/'),
        parent.movie_id,
        reply.id
    );
    let notice = marquee_accounts::mail_jobs::MailJob::notice(
        Template::CommentReply,
        &author.email,
        serde_json::json!({
            "replier": reply.author_name,
            "movie_title": title,
            "reply": reply.text,
            "link": link,
        }),
    );
    Ok(Some(notice))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CommentsQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Threads oldest first, each reply under its thread's first comment.
pub async fn list(
    State(app): State<App>,
    Path(movie_id): Path<String>,
    Query(query): Query<CommentsQuery>,
) -> Result<axum::Json<Page<Comment>>, Problem> {
    let limit = page_limit(query.limit)?;
    if query.cursor.is_none()
        && app
            .table
            .get(&index::record_key(&movie_id))
            .await?
            .is_none()
    {
        return Err(super::no_movie());
    }
    let page = app
        .table
        .query(
            &store::Query::partition(format!("MOVIE#{movie_id}"))
                .sort_key(SortKey::BeginsWith("COMMENT#".into()))
                .limit(limit)
                .after(query.cursor),
        )
        .await?;
    Ok(axum::Json(Page::of_entities("comment", page)?))
}

pub async fn update(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
    Json(input): Json<CommentEdit>,
) -> Result<axum::Json<Comment>, Problem> {
    let mut errors = validate::fields(&input);
    validate::not_blank(&mut errors, "text", &input.text);
    validate::finish(errors)?;
    let mut comment = find(&app, &id).await?;
    if comment.author_id != caller.user_id {
        return Err(Problem::forbidden().detail("Only its author edits a comment"));
    }
    if comment.deleted {
        return Err(no_comment());
    }
    let now = app.clock.now().unix_timestamp();
    let text = input.text.trim().to_string();
    let write = Write::update(
        comment_key(&comment.movie_id, &comment.thread_id, &id),
        Update::new()
            .set("text", text.clone())
            .set("edited_at", now),
    )
    .when(Condition::eq("deleted", false));
    match app.table.write(write).await {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => return Err(no_comment()),
        Err(e) => return Err(e.into()),
    }
    comment.text = Some(text);
    comment.edited_at = Some(now);
    Ok(axum::Json(comment))
}

/// By its author, or by a moderator or admin.
pub async fn delete(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let comment = find(&app, &id).await?;
    if comment.author_id != caller.user_id && caller.role < Role::Moderator {
        return Err(Problem::forbidden().detail("Only its author or a moderator deletes a comment"));
    }
    if comment.deleted {
        return Ok(StatusCode::NO_CONTENT);
    }
    let writes = vec![
        Write::update(
            comment_key(&comment.movie_id, &comment.thread_id, &id),
            Update::new().set("deleted", true).remove("text"),
        )
        .when(Condition::eq("deleted", false)),
        Write::update(
            index::record_key(&comment.movie_id),
            Update::new().add("comment_count", -1),
        )
        .when(Condition::Exists),
    ];
    match app.table.transact(writes).await {
        // Already deleted by someone else, or the movie went: nothing left to count.
        Ok(()) | Err(StoreError::TransactionCanceled { .. }) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(e.into()),
    }
}
