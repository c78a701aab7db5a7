//! What an uploaded file is, read from its first boxes: an MP4 (`ftyp`), faststart (its
//! `moov` before the media data, so a browser starts playing at once), with a video
//! track, and how long it lasts (read from `moov` by Firefox's parser, `mp4parse`). Only
//! the box headers and the `moov` box are read, by range, however large the file.

use crate::store::{MediaError, MediaStore};

/// The largest `moov` read: a feature's sample tables are a few MB; more is not a movie.
const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    pub duration_s: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProbeError {
    #[error("the file is not an MP4 video: {0}")]
    NotMp4(String),
    #[error(
        "the MP4's index (moov) comes after its media data; remux it with faststart (ffmpeg -movflags +faststart)"
    )]
    NotFaststart,
    #[error("{0}")]
    Store(String),
}

impl From<MediaError> for ProbeError {
    fn from(e: MediaError) -> Self {
        Self::Store(e.to_string())
    }
}

/// One top-level box: its type, where it starts and its whole length.
struct BoxHeader {
    kind: [u8; 4],
    start: u64,
    len: u64,
}

async fn header_at(
    store: &dyn MediaStore,
    object: &str,
    start: u64,
    size: u64,
) -> Result<BoxHeader, ProbeError> {
    let head = store.read(object, start, 16).await?;
    if head.len() < 8 {
        return Err(ProbeError::NotMp4("a box is cut short".into()));
    }
    let short = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
    let kind = [head[4], head[5], head[6], head[7]];
    let len = match short {
        // To the end of the file.
        0 => size - start,
        // A 64-bit size follows the type.
        1 if head.len() >= 16 => u64::from_be_bytes(head[8..16].try_into().unwrap_or_default()),
        n => n,
    };
    if len < 8 || start + len > size {
        return Err(ProbeError::NotMp4(
            "a box's size does not fit the file".into(),
        ));
    }
    Ok(BoxHeader { kind, start, len })
}

/// Checks `object` (of `size` bytes) and reads its duration.
pub async fn probe(store: &dyn MediaStore, object: &str, size: u64) -> Result<Probed, ProbeError> {
    let mut at = 0;
    let mut ftyp = None;
    let mut moov = None;
    while at < size && moov.is_none() {
        let header = header_at(store, object, at, size).await?;
        match &header.kind {
            b"ftyp" if at == 0 => ftyp = Some(header.len),
            _ if ftyp.is_none() => {
                return Err(ProbeError::NotMp4("it does not start with ftyp".into()));
            }
            b"moov" => moov = Some((header.start, header.len)),
            b"mdat" => return Err(ProbeError::NotFaststart),
            _ => {}
        }
        at = header.start + header.len;
    }
    let (Some(ftyp_len), Some((moov_at, moov_len))) = (ftyp, moov) else {
        return Err(ProbeError::NotMp4("it has no moov box".into()));
    };
    if moov_len > MAX_MOOV_BYTES {
        return Err(ProbeError::NotMp4(
            "its moov box is implausibly large".into(),
        ));
    }
    let mut boxes = store.read(object, 0, ftyp_len).await?;
    boxes.extend(store.read(object, moov_at, moov_len).await?);
    duration_of(&boxes)
}

/// The duration of an MP4 whose `ftyp` and `moov` boxes are `boxes`: its longest track.
pub fn duration_of(boxes: &[u8]) -> Result<Probed, ProbeError> {
    let context = mp4parse::read_mp4(&mut std::io::Cursor::new(boxes))
        .map_err(|e| ProbeError::NotMp4(format!("{e:?}")))?;
    if !context
        .tracks
        .iter()
        .any(|t| t.track_type == mp4parse::TrackType::Video)
    {
        return Err(ProbeError::NotMp4("it has no video track".into()));
    }
    let duration_s = context
        .tracks
        .iter()
        .filter_map(|track| {
            let duration = track.duration?.0 as f64;
            let scale = track.timescale?.0 as f64;
            (scale > 0.0).then(|| duration / scale)
        })
        .fold(0.0, f64::max);
    if duration_s <= 0.0 {
        return Err(ProbeError::NotMp4("it lasts no time".into()));
    }
    Ok(Probed {
        duration_s: (duration_s * 100.0).round() / 100.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LocalMediaStore, MediaStore};
    use std::sync::Arc;

    const CLIP: &[u8] = include_bytes!("../../infra/demo/clip.mp4");

    async fn stored(bytes: Vec<u8>) -> (tempfile::TempDir, LocalMediaStore) {
        let dir = tempfile::tempdir().unwrap();
        let key = Arc::new(crate::signing::LocalKey::from_bytes(b"k"));
        let store = LocalMediaStore::new(dir.path(), "http://local", key);
        store
            .put("features/M/U.mp4", "video/mp4", bytes)
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn the_demo_clip_is_a_faststart_mp4_of_twelve_seconds() {
        let (_dir, store) = stored(CLIP.to_vec()).await;
        let probed = probe(&store, "features/M/U.mp4", CLIP.len() as u64)
            .await
            .unwrap();
        assert!((12.0..12.1).contains(&probed.duration_s), "{probed:?}");
    }

    #[tokio::test]
    async fn an_index_behind_the_media_data_is_not_faststart() {
        let ftyp = u32::from_be_bytes(CLIP[..4].try_into().unwrap()) as usize;
        let moov = u32::from_be_bytes(CLIP[ftyp..ftyp + 4].try_into().unwrap()) as usize;
        assert_eq!(&CLIP[ftyp + 4..ftyp + 8], b"moov");
        let mut moved = CLIP[..ftyp].to_vec();
        moved.extend_from_slice(&CLIP[ftyp + moov..]);
        moved.extend_from_slice(&CLIP[ftyp..ftyp + moov]);
        let (_dir, store) = stored(moved.clone()).await;
        let refused = probe(&store, "features/M/U.mp4", moved.len() as u64).await;
        assert_eq!(refused, Err(ProbeError::NotFaststart));
    }

    #[tokio::test]
    async fn text_and_cut_files_are_not_mp4() {
        for bytes in [
            b"hello, this is not a movie at all".to_vec(),
            CLIP[..2000].to_vec(),
        ] {
            let (_dir, store) = stored(bytes.clone()).await;
            let refused = probe(&store, "features/M/U.mp4", bytes.len() as u64).await;
            assert!(matches!(refused, Err(ProbeError::NotMp4(_))), "{refused:?}");
        }
    }
}
