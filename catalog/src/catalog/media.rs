//! What media a movie has, kept on the movie's own item: one attribute per kind, written
//! by the watching feature when an upload completes and read by the movie page at no
//! extra cost. The files themselves belong to the watching feature; this module only
//! names them, and, when a movie goes, queues their removal in the deletion's own
//! transaction (an item due at once on the EXPIRY index, which the expiry worker hands
//! to the watching feature), so no file outlives its movie.

use marquee_core::store::{Item, Key, Write, schema};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// The movie itself: for its buyers and the staff.
    Feature,
    /// For anyone.
    Trailer,
}

impl MediaKind {
    pub const ALL: [MediaKind; 2] = [MediaKind::Feature, MediaKind::Trailer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feature => "feature",
            Self::Trailer => "trailer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The movie item's attribute that holds this kind's file.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::Feature => "media_feature",
            Self::Trailer => "media_trailer",
        }
    }
}

/// One stored file of a movie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaFile {
    /// The object's key in the media store.
    pub object: String,
    /// The upload that made it (a replacement's condition names it).
    pub upload_id: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub duration_s: f64,
    /// Epoch seconds.
    pub uploaded_at: i64,
}

impl MediaFile {
    /// This kind's file on a movie item, if it has one.
    pub fn of(item: &Item, kind: MediaKind) -> Option<Self> {
        serde_json::from_value(item.get(kind.attribute())?.clone()).ok()
    }
}

/// Which media a movie has, as movies-get shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MediaSummary {
    pub trailer: bool,
    pub feature: bool,
    /// The feature's length in seconds (the trailer's when there is no feature).
    pub duration_s: Option<f64>,
}

impl MediaSummary {
    pub fn of(item: &Item) -> Self {
        let feature = MediaFile::of(item, MediaKind::Feature);
        let trailer = MediaFile::of(item, MediaKind::Trailer);
        Self {
            trailer: trailer.is_some(),
            feature: feature.is_some(),
            duration_s: feature.or(trailer).map(|f| f.duration_s),
        }
    }
}

const REMOVAL_PREFIX: &str = "MEDIA_REMOVAL#";
const REMOVAL_SK: &str = "MEDIA_REMOVAL";

/// The write that queues `objects` for removal now, and its item's key: the expiry sweep
/// finds it due and the watching feature deletes the files, then the item.
pub fn removal(objects: Vec<String>, now: i64) -> (Key, Write) {
    let key = Key::new(format!("{REMOVAL_PREFIX}{}", ulid::Ulid::new()), REMOVAL_SK);
    let mut item = Item::new();
    item.insert(schema::PK.into(), key.pk.clone().into());
    item.insert(schema::SK.into(), key.sk.clone().into());
    item.insert("entity".into(), "media_removal".into());
    item.insert("objects".into(), objects.into());
    marquee_core::expiry::stamp(&mut item, now);
    (key, Write::put(item))
}

pub fn is_removal(key: &Key) -> bool {
    key.pk.starts_with(REMOVAL_PREFIX) && key.sk == REMOVAL_SK
}

/// The files a removal item names.
pub fn removal_objects(item: &Item) -> Vec<String> {
    item.get("objects")
        .and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|o| o.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The removal a deleted movie's files need, if it has any.
pub fn removal_of_movie(item: &Item, now: i64) -> Option<Write> {
    let objects: Vec<String> = MediaKind::ALL
        .into_iter()
        .filter_map(|kind| MediaFile::of(item, kind).map(|f| f.object))
        .collect();
    (!objects.is_empty()).then(|| removal(objects, now).1)
}
