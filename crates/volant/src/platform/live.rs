//! Pushes to open pages: a process-wide broadcast of "something new for user
//! N", fed by whichever domain watches for it, read by Server-Sent Events streams.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The broadcast every open page's stream listens to.
pub struct Hub {
    sender: broadcast::Sender<i64>,
    feeding: AtomicBool,
    closing: CancellationToken,
}

impl Default for Hub {
    fn default() -> Self {
        Self { sender: broadcast::channel(1024).0, feeding: AtomicBool::new(false), closing: CancellationToken::new() }
    }
}

impl Hub {
    /// Tells the open pages of `user` that something changed for them.
    pub fn publish(&self, user: i64) {
        // No receiver (no open page) is not an error.
        let _ = self.sender.send(user);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.sender.subscribe()
    }

    /// Ends every open stream: a server shutting down would otherwise wait for
    /// pages that never close their connection.
    pub fn close(&self) {
        self.closing.cancel();
    }

    /// Resolves when the hub closes.
    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.closing.clone().cancelled_owned()
    }

    /// Whether the feed has been started.
    pub fn is_feeding(&self) -> bool {
        self.feeding.load(Ordering::SeqCst)
    }

    /// Runs `start` the first time only: the feed starts with the first listener.
    pub fn feed_once(&self, start: impl FnOnce()) {
        if !self.feeding.swap(true, Ordering::SeqCst) {
            start();
        }
    }
}
