use super::{Queue, QueueError};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::Notify;

/// An in-process FIFO for the embedded backend.
#[derive(Default)]
pub struct MemoryQueue {
    messages: Mutex<VecDeque<String>>,
    arrived: Notify,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes up to `max` messages, waiting for the first one.
    pub async fn receive(&self, max: usize) -> Vec<String> {
        loop {
            let notified = self.arrived.notified();
            let batch = self.take(max);
            if !batch.is_empty() {
                return batch;
            }
            notified.await;
        }
    }

    /// Takes up to `max` messages without waiting.
    pub fn take(&self, max: usize) -> Vec<String> {
        let mut messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        let n = max.min(messages.len());
        messages.drain(..n).collect()
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError> {
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(bodies.iter().cloned());
        self.arrived.notify_waiters();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn delivers_in_order_in_batches() {
        let q = MemoryQueue::new();
        let bodies: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        q.send_batch(&bodies).await.unwrap();
        assert_eq!(q.receive(3).await, vec!["0", "1", "2"]);
        assert_eq!(q.take(10), vec!["3", "4"]);
        assert!(q.take(10).is_empty());
    }

    #[tokio::test]
    async fn receive_waits_for_a_message() {
        let q = Arc::new(MemoryQueue::new());
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.receive(10).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.send_batch(&["late".to_string()]).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("receive woke up")
            .unwrap();
        assert_eq!(got, vec!["late"]);
    }
}
