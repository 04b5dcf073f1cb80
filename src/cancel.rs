//! Cancellation: the first SIGINT, SIGTERM or SIGHUP (Ctrl-C on Windows), as a value every part
//! of the gate can wait on as often as it likes, and ask which signal came (oha keeps a
//! cancellation token the same way). A future that has resolved must never be polled again;
//! a [`Cancel`] can be asked again and again. Not `tokio_util`'s `CancellationToken`, which
//! says that a cancel came but not which signal: the exit code (130, 143, 129) and the result's
//! words need which, and a watch channel of `Option<Signal>` carries it in a few lines.

use crate::outcome::Signal;
use tokio::sync::watch;

/// Whether a signal has come, and which.
#[derive(Debug, Clone)]
pub(crate) struct Cancel(watch::Receiver<Option<Signal>>);

impl Cancel {
    /// Listens for the signals from now on. The handlers are installed before this returns,
    /// so that a signal while the gate still sets up is not lost. Call within the runtime.
    pub(crate) fn on_signals() -> Self {
        let (tell, listen) = watch::channel(None);
        let first = first_signal();
        tokio::spawn(async move {
            let signal = first.await;
            let _ = tell.send(Some(signal));
        });
        Self(listen)
    }

    /// The signal that came, if one has.
    pub(crate) fn signal(&self) -> Option<Signal> {
        *self.0.borrow()
    }

    /// Resolves with the signal once one has come; at once if one has.
    pub(crate) async fn signalled(&self) -> Signal {
        let mut listen = self.0.clone();
        loop {
            if let Some(signal) = *listen.borrow_and_update() {
                return signal;
            }
            if listen.changed().await.is_err() {
                // No signal can come any more: wait for ever, as the handlers would.
                return std::future::pending().await;
            }
        }
    }
}

/// The first SIGINT, SIGTERM or SIGHUP: a cancelled CI job (or a dropped session). The
/// handlers are installed when this is called, not when the future is first polled.
#[cfg(unix)]
fn first_signal() -> impl std::future::Future<Output = Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    async move {
        match handlers {
            (Ok(mut int), Ok(mut term), Ok(mut hup)) => tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
                _ = hup.recv() => Signal::Hangup,
            },
            // Without handlers the default action (exit) still stops the gate.
            _ => std::future::pending().await,
        }
    }
}

/// Ctrl-C on Windows.
#[cfg(not(unix))]
async fn first_signal() -> Signal {
    match tokio::signal::ctrl_c().await {
        Ok(()) => Signal::Interrupt,
        Err(_) => std::future::pending().await,
    }
}
