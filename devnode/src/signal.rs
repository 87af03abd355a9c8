//! Stop requests: Ctrl-C (SIGINT) and SIGTERM, which `kill`, `docker stop`
//! and systemd send. Both must stop a node the same way, writing its state
//! file, or a service manager's stop loses the chain.

/// Waits for SIGINT or SIGTERM and returns the signal's name.
///
/// # Errors
/// The signal handlers cannot be installed.
pub async fn stop_requested() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map(|()| "SIGINT"),
            _ = terminate.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
    }
}
