//! Commands from the editor (GUI thread) to the worker.

use std::path::PathBuf;

/// A request from the editor to the worker. The worker applies the ones it knows itself and
/// forwards every command to its analyzers, so a later analyzer can react to new variants.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Reset the captured-time and dropped-sample counters and the level meter.
    ResetCounters,
    /// Use this folder for model weights (`None`: the default lookup).
    SetModelDir(Option<PathBuf>),
    /// Replace the free-text queries the text-similarity head scores.
    SetTextQueries(Vec<String>),
    /// Key method: a shipped profile name (`ProfileKind::name`, e.g. `"krumhansl_kessler"`),
    /// a path to a profile JSON file, or `probe:<head name>` to let a loaded probe head
    /// replace the built-in key estimator. `None`: the built-in default.
    SetKeyMethod(Option<String>),
    /// Folder with `instruments.txt` / `genres.txt` overriding the built-in vocabularies
    /// (`None`: the built-in files).
    SetLabelsDir(Option<PathBuf>),
    /// Folder of probe heads (`<name>/head.json` + `head.safetensors`) to load besides
    /// `<model dir>/heads/` (`None`: only the model folder's).
    SetHeadsDir(Option<PathBuf>),
    /// Download the model files (one download per process: joins a running one). The worker
    /// starts it; its progress is in [`crate::bridge::EngineSnapshot::download`].
    DownloadModel(crate::download::DownloadRequest),
    /// Stop the running download (what arrived is kept for a resume).
    CancelModelDownload,
    /// Sent by the worker to its analyzers when a download completed in this process: look for
    /// a missing model again.
    ModelFilesChanged,
}

/// The editor's half of the command channel.
pub struct CommandSender {
    /// Ring write end; used by the GUI thread only.
    producer: rtrb::Producer<Command>,
}

/// The worker's half of the command channel.
pub struct CommandReceiver {
    /// Ring read end; used by the worker thread only.
    consumer: rtrb::Consumer<Command>,
}

/// Creates the command channel, holding up to `capacity` pending commands (at least 1).
pub fn channel(capacity: usize) -> (CommandSender, CommandReceiver) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity.max(1));
    (CommandSender { producer }, CommandReceiver { consumer })
}

impl CommandSender {
    /// Queues a command without waiting. When the queue is full (the worker is stuck or gone)
    /// the command is handed back in `Err`.
    pub fn send(&mut self, command: Command) -> Result<(), Command> {
        self.producer
            .push(command)
            .map_err(|rtrb::PushError::Full(command)| command)
    }

    /// Whether the worker's half was dropped (the worker stopped).
    pub fn is_disconnected(&self) -> bool {
        self.producer.is_abandoned()
    }
}

impl CommandReceiver {
    /// The next pending command, if any. Never blocks.
    pub fn try_recv(&mut self) -> Option<Command> {
        self.consumer.pop().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_arrive_in_order_and_a_full_queue_hands_back() {
        let (mut sender, mut receiver) = channel(2);
        assert_eq!(sender.send(Command::ResetCounters), Ok(()));
        assert_eq!(sender.send(Command::SetModelDir(None)), Ok(()));
        let rejected = Command::SetTextQueries(vec!["piano".into()]);
        assert_eq!(sender.send(rejected.clone()), Err(rejected));
        assert_eq!(receiver.try_recv(), Some(Command::ResetCounters));
        assert_eq!(receiver.try_recv(), Some(Command::SetModelDir(None)));
        assert_eq!(receiver.try_recv(), None);
        drop(receiver);
        assert!(sender.is_disconnected());
    }
}
