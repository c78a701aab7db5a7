//! The expiry worker's share of media: a lapsed upload is aborted in the store (with any
//! file an interrupted completion joined), and a queued removal (a replaced file, a
//! removed kind, a deleted movie's files) deletes its files. Both items are found by the
//! expiry sweep like every expiring item.

use marquee_catalog::catalog::media as movie_media;
use marquee_core::App;
use marquee_core::expiry::{Due, EXPIRES_AT, has_expired};
use marquee_core::store::{Cmp, Condition, Key, StoreError, Write};

/// Whether a queued expiry message is this feature's to handle.
pub fn handles(body: &str) -> bool {
    Due::key_of(body)
        .is_some_and(|key| crate::media::is_upload(&key) || movie_media::is_removal(&key))
}

/// Handles queued messages [`handles`] picked; gives the positions that failed.
pub async fn handle_batch(app: &App, bodies: &[String]) -> Vec<usize> {
    let mut failed = Vec::new();
    for (position, body) in bodies.iter().enumerate() {
        let Some(key) = Due::key_of(body) else {
            continue;
        };
        let done = if crate::media::is_upload(&key) {
            abort_lapsed(app, &key).await
        } else {
            remove(app, &key).await
        };
        if let Err(e) = done {
            tracing::error!(pk = %key.pk, error = %e, "media expiry failed");
            failed.push(position);
        }
    }
    failed
}

async fn abort_lapsed(app: &App, key: &Key) -> Result<(), String> {
    let now = app.clock.now().unix_timestamp();
    let Some(item) = app.table.get(key).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    if !has_expired(&item, now) {
        return Ok(());
    }
    let upload: crate::media::Upload =
        marquee_core::store::from_entity_item("upload", item).map_err(|e| e.to_string())?;
    let files = crate::stores(app).map_err(|p| p.to_string())?;
    files
        .store
        .abort_upload(&upload.object, &upload.store_upload)
        .await
        .map_err(|e| e.to_string())?;
    // A file an interrupted completion joined never became the movie's: it goes too.
    files
        .store
        .delete(&upload.object)
        .await
        .map_err(|e| e.to_string())?;
    let delete = Write::delete(key.clone()).when(Condition::compare(EXPIRES_AT, Cmp::Le, now));
    match app.table.write(delete).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

async fn remove(app: &App, key: &Key) -> Result<(), String> {
    let Some(item) = app.table.get(key).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let files = crate::stores(app).map_err(|p| p.to_string())?;
    for object in movie_media::removal_objects(&item) {
        files
            .store
            .delete(&object)
            .await
            .map_err(|e| e.to_string())?;
    }
    app.table
        .write(Write::delete(key.clone()))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Removes a queued removal's files at once; on failure the sweep does it later.
pub async fn remove_now(app: &App, key: &Key) {
    if let Err(e) = remove(app, key).await {
        tracing::warn!(pk = %key.pk, error = %e, "removing a replaced file failed; the expiry sweep retries");
    }
}
