//! Moderators' uploads: start (a part URL per part, straight to the store), complete (the
//! store joins the parts; the file is checked and becomes the movie's media of its kind,
//! its predecessor queued for removal in the same transaction) and abort; and removing a
//! movie's media. An upload is an item that expires after a day: the expiry sweep aborts
//! what was left unfinished (and the bucket's lifecycle rule backs it up).

use crate::probe::{ProbeError, Probed};
use crate::store::{MediaError, MediaStore, UploadedPart};
use crate::stores;
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use marquee_catalog::catalog::index::record_key;
use marquee_catalog::catalog::media::{self as movie_media, MediaFile, MediaKind};
use marquee_core::App;
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, validate};
use marquee_core::store::{Condition, Key, StoreError, Update, Write, entity_item};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The one type accepted: MP4 (H.264/AAC), what every browser plays.
pub const CONTENT_TYPE: &str = "video/mp4";
/// How long an upload may take before the sweep aborts it.
pub const UPLOAD_LIFETIME_SECS: i64 = 24 * 3600;
/// Parts of at least this size; larger ones keep an upload within [`MAX_PARTS`].
const PART_BYTES: u64 = 8 * 1024 * 1024;
const MAX_PARTS: u64 = 1_000;

/// Object names: `features/<movie>/<upload>.mp4`, `trailers/<movie>/<upload>.mp4`. A new
/// name per upload, so a replaced file never lingers in a cache under its old content.
pub fn object_name(kind: MediaKind, movie_id: &str, upload_id: &str) -> String {
    format!("{}s/{movie_id}/{upload_id}.mp4", kind.as_str())
}

/// True for a name [`object_name`] makes, and nothing else (no `..`, no other folder).
pub fn is_object_name(object: &str) -> bool {
    let mut parts = object.split('/');
    let (Some(folder), Some(movie), Some(file), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    matches!(folder, "features" | "trailers")
        && plain(movie)
        && file.strip_suffix(".mp4").is_some_and(plain)
}

/// Trailers play for anyone, unsigned (deployed: a public path of the distribution).
pub fn is_public_object(object: &str) -> bool {
    is_object_name(object) && object.starts_with("trailers/")
}

pub(crate) fn kind_of(text: &str) -> Result<MediaKind, Problem> {
    MediaKind::parse(text)
        .ok_or_else(|| Problem::not_found("No such kind of media (feature or trailer)"))
}

pub(crate) fn store_problem(e: MediaError) -> Problem {
    match e {
        MediaError::NotFound => Problem::not_found("No such file"),
        other => {
            tracing::error!(dependency = "media store", error = %other, "media store failed");
            Problem::unavailable()
        }
    }
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadStart {
    /// `video/mp4`.
    #[garde(length(chars, min = 1, max = 100))]
    pub content_type: String,
    /// The file's exact size.
    #[garde(range(min = 1))]
    pub size_bytes: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartUrl {
    pub number: u32,
    /// PUT the part's bytes here; the answer's `ETag` header goes into complete.
    pub url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadStarted {
    pub upload_id: String,
    /// Every part is this long but the last, which may be shorter.
    pub part_size: u64,
    pub parts: Vec<PartUrl>,
    /// Epoch seconds: the part URLs and the upload lapse then.
    pub expires_at: i64,
}

/// An upload under way, as kept until it completes or lapses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub movie_id: String,
    pub kind: MediaKind,
    pub object: String,
    /// The store's reference to its multipart upload.
    pub store_upload: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub part_size: u64,
    pub parts: u32,
    pub started_by: String,
}

pub fn upload_key(upload_id: &str) -> Key {
    Key::new(format!("UPLOAD#{upload_id}"), "UPLOAD")
}

pub fn is_upload(key: &Key) -> bool {
    key.pk.starts_with("UPLOAD#") && key.sk == "UPLOAD"
}

fn part_size_for(size: u64) -> u64 {
    const MIB: u64 = 1024 * 1024;
    let spread = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    spread.max(PART_BYTES)
}

/// `POST /movies/{id}/media/{kind}/uploads`.
pub async fn start(
    State(app): State<App>,
    caller: marquee_core::http::guard::Principal,
    Path((movie_id, kind)): Path<(String, String)>,
    Json(input): Json<UploadStart>,
) -> Result<(StatusCode, axum::Json<UploadStarted>), Problem> {
    let kind = kind_of(&kind)?;
    validate::finish(validate::fields(&input))?;
    if input.content_type.trim().to_ascii_lowercase() != CONTENT_TYPE {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_video",
            "Unsupported media type",
        )
        .detail(format!("Upload an MP4 video ({CONTENT_TYPE}, H.264/AAC)")));
    }
    let max = app.config.media.max_upload_bytes;
    if input.size_bytes > max {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            "File too large",
        )
        .detail(format!("A file may be at most {max} bytes")));
    }
    marquee_catalog::engagement::require_movie(&app, &movie_id).await?;
    let files = stores(&app)?;
    let upload_id = ulid::Ulid::new().to_string();
    let object = object_name(kind, &movie_id, &upload_id);
    let store_upload = files
        .store
        .start_upload(&object, CONTENT_TYPE)
        .await
        .map_err(store_problem)?;
    let part_size = part_size_for(input.size_bytes);
    let parts = input.size_bytes.div_ceil(part_size) as u32;
    let now = app.clock.now().unix_timestamp();
    let expires_at = now + UPLOAD_LIFETIME_SECS;
    let valid_for = Duration::from_secs(UPLOAD_LIFETIME_SECS as u64);
    let mut urls = Vec::with_capacity(parts as usize);
    for number in 1..=parts {
        urls.push(PartUrl {
            number,
            url: files
                .store
                .part_url(&object, &store_upload, number, now, valid_for)
                .await
                .map_err(store_problem)?,
        });
    }
    let upload = Upload {
        movie_id,
        kind,
        object,
        store_upload,
        content_type: CONTENT_TYPE.into(),
        size_bytes: input.size_bytes,
        part_size,
        parts,
        started_by: caller.user_id,
    };
    let mut item = entity_item("upload", &upload_key(&upload_id), &upload);
    marquee_core::expiry::stamp(&mut item, expires_at);
    // Should this write fail, nothing refers to the store's upload: the bucket's
    // lifecycle rule aborts it.
    app.table.write(Write::put(item)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(UploadStarted {
            upload_id,
            part_size,
            parts: urls,
            expires_at,
        }),
    ))
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedPart {
    #[garde(range(min = 1, max = 10000))]
    pub number: u32,
    /// The `ETag` header the part's PUT answered.
    #[garde(length(chars, min = 1, max = 200))]
    pub etag: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadComplete {
    /// Every part, in order.
    #[garde(custom(marquee_core::http::validate::items(1, 10000)), dive)]
    pub parts: Vec<CompletedPart>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MediaReady {
    pub kind: MediaKind,
    /// `ready`: viewers can play it.
    pub status: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub duration_s: f64,
}

/// The live upload `upload_id` of this movie and kind, or 404.
async fn upload_of(
    app: &App,
    movie_id: &str,
    kind: MediaKind,
    upload_id: &str,
) -> Result<Upload, Problem> {
    let now = app.clock.now().unix_timestamp();
    let gone = || Problem::not_found("No such upload of this movie (finished, aborted or lapsed)");
    let Some(item) =
        marquee_core::expiry::get_live(app.table.as_ref(), &upload_key(upload_id), now).await?
    else {
        return Err(gone());
    };
    let upload: Upload = marquee_core::store::from_entity_item("upload", item)?;
    if upload.movie_id != movie_id || upload.kind != kind {
        return Err(gone());
    }
    Ok(upload)
}

/// `POST /movies/{id}/media/{kind}/uploads/{upload_id}/complete`.
pub async fn complete(
    State(app): State<App>,
    Path((movie_id, kind, upload_id)): Path<(String, String, String)>,
    Json(input): Json<UploadComplete>,
) -> Result<axum::Json<MediaReady>, Problem> {
    let kind = kind_of(&kind)?;
    validate::finish(validate::fields(&input))?;
    let upload = upload_of(&app, &movie_id, kind, &upload_id).await?;
    let listed: Vec<u32> = input.parts.iter().map(|p| p.number).collect();
    if listed != (1..=upload.parts).collect::<Vec<_>>() {
        return Err(Problem::validation(vec![FieldError {
            field: "parts".into(),
            message: format!("must list parts 1 to {} in order, each once", upload.parts),
        }]));
    }
    let files = stores(&app)?;
    join_parts(files.store.as_ref(), &upload, &input.parts).await?;
    // From here the parts are one file: a refusal removes it and ends the upload.
    let refuse = |problem: Problem| async {
        let _ = files.store.delete(&upload.object).await;
        let _ = app.table.write(Write::delete(upload_key(&upload_id))).await;
        Err(problem)
    };
    let probed = match check_joined(files.store.as_ref(), &upload).await {
        Ok(probed) => probed,
        Err(Unkept::Refused(problem)) => return refuse(problem).await,
        Err(Unkept::Unread(problem)) => return Err(problem),
    };
    let file = MediaFile {
        object: upload.object.clone(),
        upload_id: upload_id.clone(),
        content_type: upload.content_type.clone(),
        size_bytes: upload.size_bytes,
        duration_s: probed.duration_s,
        uploaded_at: app.clock.now().unix_timestamp(),
    };
    match replace(&app, &movie_id, kind, Some(&file), Some(&upload_id)).await {
        Ok(()) => {}
        Err(ReplaceError::NoMovie) => {
            return refuse(marquee_catalog::engagement::no_movie()).await;
        }
        Err(ReplaceError::Problem(p)) => return Err(p),
    }
    Ok(axum::Json(MediaReady {
        kind,
        status: "ready".into(),
        content_type: file.content_type,
        size_bytes: file.size_bytes,
        duration_s: file.duration_s,
    }))
}

/// Joins an upload's parts into its file. Completing again after a join that went through
/// (an earlier attempt failed after it) carries on from the file.
async fn join_parts(
    store: &dyn MediaStore,
    upload: &Upload,
    listed: &[CompletedPart],
) -> Result<(), Problem> {
    let parts: Vec<UploadedPart> = listed
        .iter()
        .map(|p| UploadedPart {
            number: p.number,
            etag: p.etag.clone(),
        })
        .collect();
    match store
        .complete_upload(&upload.object, &upload.store_upload, &parts)
        .await
    {
        Ok(()) => Ok(()),
        Err(MediaError::InvalidPart(detail) | MediaError::PartTooSmall(detail)) => {
            Err(Problem::conflict(
                "parts_not_uploaded",
                format!(
                    "The parts are not as listed ({detail}); PUT each part to its URL and complete again"
                ),
            ))
        }
        Err(MediaError::NoSuchUpload)
            if store.size(&upload.object).await.map_err(store_problem)?
                == Some(upload.size_bytes) =>
        {
            Ok(())
        }
        Err(MediaError::NoSuchUpload) => Err(Problem::conflict(
            "upload_gone",
            "The store no longer holds this upload; start a new one",
        )),
        Err(e) => Err(store_problem(e)),
    }
}

/// Why a joined file is not kept.
enum Unkept {
    /// Not the file announced, or not a video that plays as it downloads: it goes.
    Refused(Problem),
    /// The store could not be read: the file stays, to complete again.
    Unread(Problem),
}

/// The joined file checked: the size announced, and an MP4 that plays as it downloads.
async fn check_joined(store: &dyn MediaStore, upload: &Upload) -> Result<Probed, Unkept> {
    let size = store
        .size(&upload.object)
        .await
        .map_err(|e| Unkept::Unread(store_problem(e)))?;
    if size != Some(upload.size_bytes) {
        return Err(Unkept::Refused(Problem::conflict(
            "size_mismatch",
            format!(
                "The file is {} bytes, not the {} announced; start a new upload",
                size.unwrap_or(0),
                upload.size_bytes
            ),
        )));
    }
    crate::probe::probe(store, &upload.object, upload.size_bytes)
        .await
        .map_err(|e| match e {
            ProbeError::Store(e) => {
                tracing::error!(dependency = "media store", error = %e, "reading the upload failed");
                Unkept::Unread(Problem::unavailable())
            }
            e @ ProbeError::NotFaststart => {
                Unkept::Refused(Problem::validation(vec![FieldError {
                    field: "file".into(),
                    message: e.to_string(),
                }]))
            }
            e => Unkept::Refused(
                Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "not_video",
                    "Unsupported media type",
                )
                .detail(e.to_string()),
            ),
        })
}

enum ReplaceError {
    NoMovie,
    Problem(Problem),
}

impl From<StoreError> for ReplaceError {
    fn from(e: StoreError) -> Self {
        Self::Problem(e.into())
    }
}

/// Sets (or, with `None`, removes) the movie's file of `kind`; the file it replaces is
/// queued for removal in the same transaction, then removed at once if it can be.
/// `upload_id`: the upload that ends with it (its item goes in the same transaction).
async fn replace(
    app: &App,
    movie_id: &str,
    kind: MediaKind,
    file: Option<&MediaFile>,
    upload_id: Option<&str>,
) -> Result<(), ReplaceError> {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let Some(movie) = app.table.get(&record_key(movie_id)).await? else {
            return Err(ReplaceError::NoMovie);
        };
        let before = MediaFile::of(&movie, kind);
        // Unchanged since read: a concurrent replacement retries rather than orphaning.
        let unchanged = match &before {
            Some(before) => Condition::eq(
                format!("{}_upload", kind.attribute()),
                before.upload_id.clone(),
            ),
            None => Condition::AttrNotExists(format!("{}_upload", kind.attribute())),
        };
        let update = match file {
            Some(file) => Update::new()
                .set(
                    kind.attribute(),
                    serde_json::to_value(file).unwrap_or_default(),
                )
                .set(
                    format!("{}_upload", kind.attribute()),
                    file.upload_id.clone(),
                ),
            None => Update::new()
                .remove(kind.attribute())
                .remove(format!("{}_upload", kind.attribute())),
        };
        let now = app.clock.now().unix_timestamp();
        let mut writes = vec![
            Write::update(record_key(movie_id), update).when(Condition::Exists.and(unchanged)),
        ];
        if let Some(upload_id) = upload_id {
            writes.push(Write::delete(upload_key(upload_id)).when(Condition::Exists));
        }
        let removal = before.map(|b| movie_media::removal(vec![b.object], now));
        let removal_key = removal.as_ref().map(|(key, _)| key.clone());
        writes.extend(removal.map(|(_, write)| write));
        match app.table.transact(writes).await {
            Ok(()) => {
                if let Some(key) = removal_key {
                    crate::expiry::remove_now(app, &key).await;
                }
                return Ok(());
            }
            Err(StoreError::TransactionCanceled { failed }) if failed == [1] => {
                return Err(ReplaceError::Problem(Problem::conflict(
                    "upload_gone",
                    "This upload was completed or aborted meanwhile",
                )));
            }
            Err(StoreError::TransactionCanceled { .. } | StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ReplaceError::Problem(marquee_catalog::engagement::busy()))
}

/// `DELETE /movies/{id}/media/{kind}/uploads/{upload_id}`.
pub async fn abort(
    State(app): State<App>,
    Path((movie_id, kind, upload_id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    let kind = kind_of(&kind)?;
    let upload = upload_of(&app, &movie_id, kind, &upload_id).await?;
    let files = stores(&app)?;
    files
        .store
        .abort_upload(&upload.object, &upload.store_upload)
        .await
        .map_err(store_problem)?;
    // Parts an interrupted completion joined: the file is this upload's alone.
    files
        .store
        .delete(&upload.object)
        .await
        .map_err(store_problem)?;
    app.table
        .write(Write::delete(upload_key(&upload_id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /movies/{id}/media/{kind}`: the file goes with its record.
pub async fn delete(
    State(app): State<App>,
    Path((movie_id, kind)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let kind = kind_of(&kind)?;
    let Some(movie) = app.table.get(&record_key(&movie_id)).await? else {
        return Err(marquee_catalog::engagement::no_movie());
    };
    if MediaFile::of(&movie, kind).is_none() {
        return Err(Problem::not_found(format!(
            "This movie has no {}",
            kind.as_str()
        )));
    }
    match replace(&app, &movie_id, kind, None, None).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(ReplaceError::NoMovie) => Err(marquee_catalog::engagement::no_movie()),
        Err(ReplaceError::Problem(p)) => Err(p),
    }
}

/// Gives a movie a whole file at once, checked like an upload (the demo catalogue).
pub async fn attach(
    app: &App,
    movie_id: &str,
    kind: MediaKind,
    bytes: Vec<u8>,
) -> Result<MediaFile, String> {
    let files = stores(app).map_err(|p| p.to_string())?;
    let upload_id = ulid::Ulid::new().to_string();
    let object = object_name(kind, movie_id, &upload_id);
    let size = bytes.len() as u64;
    files
        .store
        .put(&object, CONTENT_TYPE, bytes)
        .await
        .map_err(|e| e.to_string())?;
    let probed = crate::probe::probe(files.store.as_ref(), &object, size)
        .await
        .map_err(|e| e.to_string())?;
    let file = MediaFile {
        object,
        upload_id,
        content_type: CONTENT_TYPE.into(),
        size_bytes: size,
        duration_s: probed.duration_s,
        uploaded_at: app.clock.now().unix_timestamp(),
    };
    match replace(app, movie_id, kind, Some(&file), None).await {
        Ok(()) => Ok(file),
        Err(ReplaceError::NoMovie) => Err(format!("no movie {movie_id}")),
        Err(ReplaceError::Problem(p)) => Err(p.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_only_the_ones_made() {
        let name = object_name(MediaKind::Feature, "01ABC", "01XYZ");
        assert_eq!(name, "features/01ABC/01XYZ.mp4");
        assert!(is_object_name(&name));
        assert!(!is_public_object(&name));
        assert!(is_public_object(&object_name(
            MediaKind::Trailer,
            "01ABC",
            "01XYZ"
        )));
        for bad in [
            "features/../x/y.mp4",
            "other/a/b.mp4",
            "features/a/b.mov",
            "features/a/b/c.mp4",
            "features//b.mp4",
            "trailers/a/.mp4",
        ] {
            assert!(!is_object_name(bad), "{bad}");
        }
    }

    #[test]
    fn parts_are_at_least_8_mib_and_at_most_a_thousand() {
        assert_eq!(part_size_for(1), 8 << 20);
        assert_eq!(part_size_for(8 << 30), 9 << 20);
        let size = 20u64 << 30;
        assert!(size.div_ceil(part_size_for(size)) <= MAX_PARTS);
    }
}
