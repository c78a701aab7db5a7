//! The watching slice of the route table: uploads, playback, progress, continue watching.

use crate::{media, playback};
use axum::routing::on;
use marquee_catalog::engagement::progress;
use marquee_core::http::guard::Access::{AtLeast, Public};
use marquee_core::http::pagination::Page;
use marquee_core::role::Role::{Moderator, User};
use marquee_core::route::Method::{Delete, Get, Post, Put};
use marquee_core::route::Need;
use marquee_core::route::{Route, body, route};

pub const MEDIA_UPLOAD_START: Route = route(
    "media-upload-start",
    Post,
    "/movies/{id}/media/{kind}/uploads",
    AtLeast(Moderator),
    "watching",
    "Start uploading a movie's feature or trailer: a URL per part, straight to the store",
    |m| on(m, media::start),
)
.takes(body::<media::UploadStart>())
.gives(body::<media::UploadStarted>())
.status(201)
.needs(&[Need::GetItem, Need::PutItem, Need::MediaWrite]);

pub const MEDIA_UPLOAD_COMPLETE: Route = route(
    "media-upload-complete",
    Post,
    "/movies/{id}/media/{kind}/uploads/{upload_id}/complete",
    AtLeast(Moderator),
    "watching",
    "Finish an upload: the parts become the movie's file of that kind, checked as MP4",
    |m| on(m, media::complete),
)
.takes(body::<media::UploadComplete>())
.gives(body::<media::MediaReady>())
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::MediaWrite,
    Need::MediaRead,
    Need::MediaDelete,
]);

pub const MEDIA_UPLOAD_ABORT: Route = route(
    "media-upload-abort",
    Delete,
    "/movies/{id}/media/{kind}/uploads/{upload_id}",
    AtLeast(Moderator),
    "watching",
    "Abandon an upload and its parts",
    |m| on(m, media::abort),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::DeleteItem,
    Need::MediaAbort,
    Need::MediaDelete,
]);

pub const MEDIA_DELETE: Route = route(
    "media-delete",
    Delete,
    "/movies/{id}/media/{kind}",
    AtLeast(Moderator),
    "watching",
    "Remove a movie's feature or trailer, file and all",
    |m| on(m, media::delete),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::MediaDelete,
]);

pub const PLAYBACK_START: Route = route(
    "playback-start",
    Post,
    "/movies/{id}/playback",
    Public,
    "watching",
    "A URL that plays the trailer (anyone) or the feature (its buyers and the staff)",
    |m| on(m, playback::start),
)
.takes(body::<playback::PlaybackStart>())
.gives(body::<playback::Playback>())
.refuses(&[
    (
        401,
        "A feature needs a signed-in caller (or the token sent is not valid)",
    ),
    (
        403,
        "`not_purchased`: the caller neither owns the movie nor is staff",
    ),
    (
        429,
        "`too_many_streams`: the account already plays three features",
    ),
])
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::Query,
    Need::PutItem,
    Need::UpdateItem,
    Need::MediaSigningKey,
]);

pub const PLAYBACK_PROGRESS: Route = route(
    "playback-progress",
    Put,
    "/movies/{id}/progress",
    AtLeast(User),
    "watching",
    "Where you are in a movie; keeps your stream's grant alive",
    |m| on(m, playback::beat),
)
.takes(body::<playback::ProgressBeat>())
.status(204)
.needs(&[Need::GetItem, Need::Query, Need::PutItem, Need::UpdateItem]);

pub const ME_CONTINUE_WATCHING: Route = route(
    "me-continue-watching",
    Get,
    "/me/continue-watching",
    AtLeast(User),
    "watching",
    "Movies you started and have not finished, the latest first",
    |m| on(m, progress::continue_watching),
)
.gives(body::<Page<progress::Started>>())
.query(&["limit"])
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub static ROUTES: &[Route] = &[
    MEDIA_UPLOAD_START,
    MEDIA_UPLOAD_COMPLETE,
    MEDIA_UPLOAD_ABORT,
    MEDIA_DELETE,
    PLAYBACK_START,
    PLAYBACK_PROGRESS,
    ME_CONTINUE_WATCHING,
];
