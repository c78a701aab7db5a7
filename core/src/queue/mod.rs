//! The `Queue` port: SQS in AWS; an in-process queue, drained by the local server, otherwise.

mod memory;
mod sqs;

pub use memory::MemoryQueue;
pub use sqs::SqsQueue;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
#[error("queue: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends every message or fails; a failure may leave some sent (consumers are idempotent).
    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError>;
}
