//! The media store: where movies' files live. Moderators' bytes go straight to it through
//! signed part URLs, and viewers' straight from it (through CloudFront when deployed), so
//! no function carries a file. Two adapters: S3 ([`S3MediaStore`]: presigned UploadPart
//! URLs, range reads) and files under the data folder ([`LocalMediaStore`]: the local
//! server takes the parts on its own signed URLs).

use crate::signing::LocalKey;
use async_trait::async_trait;
use marquee_core::usage;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no such upload")]
    NoSuchUpload,
    /// A listed part was not uploaded, or its ETag is not the one the store gave.
    #[error("a part is missing or differs from what was uploaded: {0}")]
    InvalidPart(String),
    /// A part before the last is below the store's minimum part size.
    #[error("a part is too small: {0}")]
    PartTooSmall(String),
    #[error("no such file")]
    NotFound,
    #[error("media store unavailable: {0}")]
    Unavailable(String),
}

/// A part as the uploader reports it after its PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    pub number: u32,
    pub etag: String,
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Starts a multipart upload of `object`; gives the store's reference to it.
    async fn start_upload(&self, object: &str, content_type: &str) -> Result<String, MediaError>;
    /// A URL that takes one part by PUT until `valid_for` has passed (from `now`, epoch
    /// seconds), answering its ETag.
    async fn part_url(
        &self,
        object: &str,
        upload: &str,
        number: u32,
        now: i64,
        valid_for: Duration,
    ) -> Result<String, MediaError>;
    /// Joins the listed parts into the object.
    async fn complete_upload(
        &self,
        object: &str,
        upload: &str,
        parts: &[UploadedPart],
    ) -> Result<(), MediaError>;
    /// Drops an unfinished upload and its parts (none left is not an error).
    async fn abort_upload(&self, object: &str, upload: &str) -> Result<(), MediaError>;
    /// Stores a whole file at once (the demo catalogue's clips).
    async fn put(&self, object: &str, content_type: &str, bytes: Vec<u8>)
    -> Result<(), MediaError>;
    /// The object's size, if it exists.
    async fn size(&self, object: &str) -> Result<Option<u64>, MediaError>;
    /// `len` bytes from `start` (fewer at the end of the object).
    async fn read(&self, object: &str, start: u64, len: u64) -> Result<Vec<u8>, MediaError>;
    /// Removes the object (a missing one is not an error).
    async fn delete(&self, object: &str) -> Result<(), MediaError>;
}

/// S3's multipart limits: parts of at least 5 MiB but the last, at most 10,000 parts.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;

pub struct S3MediaStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3MediaStore {
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Self {
        let mut config = aws_sdk_s3::config::Builder::from(sdk);
        // A stand-in on one host:port has no per-bucket host names.
        if sdk.endpoint_url().is_some() {
            config = config.force_path_style(true);
        }
        Self {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: bucket.to_string(),
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> MediaError {
    MediaError::Unavailable(error.to_string())
}

fn s3_error<E>(error: aws_sdk_s3::error::SdkError<E>) -> MediaError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(service) = error.as_service_error() {
        match service.code() {
            Some("NoSuchUpload") => return MediaError::NoSuchUpload,
            Some("InvalidPart" | "InvalidPartOrder") => {
                return MediaError::InvalidPart(service.message().unwrap_or_default().into());
            }
            Some("EntityTooSmall") => {
                return MediaError::PartTooSmall(service.message().unwrap_or_default().into());
            }
            Some("NoSuchKey" | "NotFound") => return MediaError::NotFound,
            _ => {}
        }
    }
    if error.raw_response().map(|r| r.status().as_u16()) == Some(404) {
        return MediaError::NotFound;
    }
    unavailable(aws_sdk_s3::error::DisplayErrorContext(error))
}

#[async_trait]
impl MediaStore for S3MediaStore {
    async fn start_upload(&self, object: &str, content_type: &str) -> Result<String, MediaError> {
        usage::record("s3:PutObject");
        let started = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(object)
            .content_type(content_type)
            .send()
            .await
            .map_err(s3_error)?;
        started
            .upload_id
            .ok_or_else(|| unavailable("S3 gave no upload id"))
    }

    async fn part_url(
        &self,
        object: &str,
        upload: &str,
        number: u32,
        _now: i64,
        valid_for: Duration,
    ) -> Result<String, MediaError> {
        // Signed with this function's credentials: the PUT is authorised as its s3:PutObject.
        usage::record("s3:PutObject");
        let presigning =
            aws_sdk_s3::presigning::PresigningConfig::expires_in(valid_for).map_err(unavailable)?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(object)
            .upload_id(upload)
            .part_number(number as i32)
            .presigned(presigning)
            .await
            .map_err(s3_error)?;
        Ok(request.uri().to_string())
    }

    async fn complete_upload(
        &self,
        object: &str,
        upload: &str,
        parts: &[UploadedPart],
    ) -> Result<(), MediaError> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        usage::record("s3:PutObject");
        let parts = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.number as i32)
                    .e_tag(&p.etag)
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(object)
            .upload_id(upload)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn abort_upload(&self, object: &str, upload: &str) -> Result<(), MediaError> {
        usage::record("s3:AbortMultipartUpload");
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(object)
            .upload_id(upload)
            .send()
            .await
            .map_err(s3_error)
        {
            Ok(_) | Err(MediaError::NoSuchUpload | MediaError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn put(
        &self,
        object: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), MediaError> {
        usage::record("s3:PutObject");
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(object)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn size(&self, object: &str) -> Result<Option<u64>, MediaError> {
        // HeadObject is authorised as s3:GetObject.
        usage::record("s3:GetObject");
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(object)
            .send()
            .await
            .map_err(s3_error)
        {
            Ok(head) => Ok(Some(head.content_length.unwrap_or(0).max(0) as u64)),
            Err(MediaError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, object: &str, start: u64, len: u64) -> Result<Vec<u8>, MediaError> {
        usage::record("s3:GetObject");
        if len == 0 {
            return Ok(Vec::new());
        }
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object)
            .range(format!("bytes={start}-{}", start + len - 1))
            .send()
            .await
            .map_err(s3_error)?;
        let bytes = got.body.collect().await.map_err(unavailable)?;
        Ok(bytes.to_vec())
    }

    async fn delete(&self, object: &str) -> Result<(), MediaError> {
        usage::record("s3:DeleteObject");
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(object)
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }
}

/// Files under `<data>/media`: `objects/<object>` and `uploads/<upload>/<part>`. Part URLs
/// are the local server's [`PART_ROUTE`], signed with the local media key.
pub struct LocalMediaStore {
    root: PathBuf,
    base_url: String,
    key: Arc<LocalKey>,
}

/// Where the local server takes parts: `PUT /media-parts/{upload}/{number}?expires&sig`.
pub const PART_ROUTE: &str = "/media-parts";

impl LocalMediaStore {
    pub fn new(data_dir: &Path, base_url: &str, key: Arc<LocalKey>) -> Self {
        Self {
            root: data_dir.join("media"),
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
        }
    }

    fn object_path(&self, object: &str) -> Result<PathBuf, MediaError> {
        if !crate::media::is_object_name(object) {
            return Err(MediaError::NotFound);
        }
        Ok(self.root.join("objects").join(object))
    }

    fn upload_dir(&self, upload: &str) -> Result<PathBuf, MediaError> {
        if upload.is_empty() || !upload.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MediaError::NoSuchUpload);
        }
        Ok(self.root.join("uploads").join(upload))
    }

    fn part_path(&self, upload: &str, number: u32) -> Result<PathBuf, MediaError> {
        Ok(self.upload_dir(upload)?.join(format!("{number:05}")))
    }

    /// What a part PUT to this store's URL stores; gives its ETag.
    pub async fn write_part(
        &self,
        upload: &str,
        number: u32,
        bytes: &[u8],
    ) -> Result<String, MediaError> {
        let dir = self.upload_dir(upload)?;
        if !tokio::fs::try_exists(&dir).await.map_err(unavailable)? {
            return Err(MediaError::NoSuchUpload);
        }
        let path = self.part_path(upload, number)?;
        write_atomically(&path, bytes).await?;
        Ok(etag_of(bytes))
    }

    /// Checks a signed part URL's query; true when it is this store's and still valid.
    pub fn part_url_valid(
        &self,
        upload: &str,
        number: u32,
        expires: i64,
        sig: &str,
        now: i64,
    ) -> bool {
        expires > now && self.key.verify(&part_message(upload, number, expires), sig)
    }
}

fn part_message(upload: &str, number: u32, expires: i64) -> String {
    format!("part\n{upload}\n{number}\n{expires}")
}

/// A quoted content hash, as S3 quotes its ETags.
fn etag_of(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!("\"{}\"", &marquee_core::secret::hex(digest.as_ref())[..32])
}

fn unquoted(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), MediaError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(unavailable)?;
    }
    let partial = path.with_extension(format!("partial-{}", ulid::Ulid::new()));
    tokio::fs::write(&partial, bytes)
        .await
        .map_err(unavailable)?;
    tokio::fs::rename(&partial, path).await.map_err(unavailable)
}

#[async_trait]
impl MediaStore for LocalMediaStore {
    async fn start_upload(&self, _object: &str, _content_type: &str) -> Result<String, MediaError> {
        usage::record("s3:PutObject");
        let upload = ulid::Ulid::new().to_string();
        tokio::fs::create_dir_all(self.upload_dir(&upload)?)
            .await
            .map_err(unavailable)?;
        Ok(upload)
    }

    async fn part_url(
        &self,
        _object: &str,
        upload: &str,
        number: u32,
        now: i64,
        valid_for: Duration,
    ) -> Result<String, MediaError> {
        usage::record("s3:PutObject");
        let expires = now + valid_for.as_secs() as i64;
        let sig = self.key.sign(&part_message(upload, number, expires));
        Ok(format!(
            "{}{PART_ROUTE}/{upload}/{number}?expires={expires}&sig={sig}",
            self.base_url
        ))
    }

    async fn complete_upload(
        &self,
        object: &str,
        upload: &str,
        parts: &[UploadedPart],
    ) -> Result<(), MediaError> {
        usage::record("s3:PutObject");
        let dir = self.upload_dir(upload)?;
        if !tokio::fs::try_exists(&dir).await.map_err(unavailable)? {
            return Err(MediaError::NoSuchUpload);
        }
        let mut whole = Vec::new();
        for (position, part) in parts.iter().enumerate() {
            let bytes = match tokio::fs::read(self.part_path(upload, part.number)?).await {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(MediaError::InvalidPart(format!(
                        "part {} was not uploaded",
                        part.number
                    )));
                }
                Err(e) => return Err(unavailable(e)),
            };
            if unquoted(&etag_of(&bytes)) != unquoted(&part.etag) {
                return Err(MediaError::InvalidPart(format!(
                    "part {}'s ETag is not the one its upload answered",
                    part.number
                )));
            }
            if position + 1 < parts.len() && (bytes.len() as u64) < MIN_PART_BYTES {
                return Err(MediaError::PartTooSmall(format!("part {}", part.number)));
            }
            whole.extend_from_slice(&bytes);
        }
        write_atomically(&self.object_path(object)?, &whole).await?;
        tokio::fs::remove_dir_all(&dir).await.map_err(unavailable)
    }

    async fn abort_upload(&self, _object: &str, upload: &str) -> Result<(), MediaError> {
        usage::record("s3:AbortMultipartUpload");
        match tokio::fs::remove_dir_all(self.upload_dir(upload)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn put(
        &self,
        object: &str,
        _content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), MediaError> {
        usage::record("s3:PutObject");
        write_atomically(&self.object_path(object)?, &bytes).await
    }

    async fn size(&self, object: &str) -> Result<Option<u64>, MediaError> {
        usage::record("s3:GetObject");
        match tokio::fs::metadata(self.object_path(object)?).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read(&self, object: &str, start: u64, len: u64) -> Result<Vec<u8>, MediaError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        usage::record("s3:GetObject");
        let mut file = match tokio::fs::File::open(self.object_path(object)?).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(MediaError::NotFound),
            Err(e) => return Err(unavailable(e)),
        };
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(unavailable)?;
        let mut bytes = Vec::with_capacity(len.min(16 << 20) as usize);
        file.take(len)
            .read_to_end(&mut bytes)
            .await
            .map_err(unavailable)?;
        Ok(bytes)
    }

    async fn delete(&self, object: &str) -> Result<(), MediaError> {
        usage::record("s3:DeleteObject");
        match tokio::fs::remove_file(self.object_path(object)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
