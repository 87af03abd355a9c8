//! A running node: the chain on its own thread, the JSON-RPC server, and
//! interval mining.
//!
//! The chain lives on one thread with a large stack (nested Stylus frames
//! recurse on it). Everything else talks to it by sending closures
//! ([`ChainHandle::with`]), so requests are served one at a time, in
//! arrival order, and nothing else needs a lock. Calls and estimates only
//! take their snapshot there and run on threads of their own
//! ([`ChainHandle::off_chain`]), so a slow one never holds up the chain.
//!
//! With a state file, each job's changes are written down before its answer
//! goes out ([`crate::state_file`]): the job returns its answer as a
//! [`Reply`] the chain thread sends after [`Chain::commit`].

use std::{net::SocketAddr, path::PathBuf, sync::mpsc, time::Duration};

use alloy_primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use tokio::sync::{broadcast, oneshot};

use crate::{
    accounts,
    chain::{Chain, ChainConfig, ChainEvent, ChainRecord},
    state_file::{StateFile, StateFileError},
    stylus::EXECUTION_STACK_SIZE,
};

/// Nitro dev node's chain id.
pub const DEFAULT_CHAIN_ID: u64 = 412_346;
/// Nitro dev node's RPC port.
pub const DEFAULT_PORT: u16 = 8547;

/// Why the node could not start or serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The chain thread has stopped.
    #[error("the chain thread has stopped")]
    Stopped,
    /// Every call slot stayed taken for a whole call deadline.
    #[error("devnode is busy: {MAX_CONCURRENT_CALLS} calls have been running for a while; retry")]
    Busy,
    /// The state file could not be read or written.
    #[error(transparent)]
    StateFile(#[from] StateFileError),
    /// The server could not bind or start.
    #[error("cannot start the RPC server: {0}")]
    Server(String),
    /// The chain thread could not be spawned.
    #[error("cannot spawn the chain thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Work for the chain thread; it returns the answer to send once its
/// changes are written down.
type Job = Box<dyn FnOnce(&mut Chain) -> Reply + Send>;
/// Sends a job's answer.
type Reply = Box<dyn FnOnce() + Send>;

/// A handle to the chain thread; cheap to clone.
#[derive(Clone)]
pub struct ChainHandle {
    jobs: mpsc::Sender<Job>,
    events: broadcast::Sender<ChainEvent>,
    pending_events: broadcast::Sender<ChainEvent>,
    /// Bumped whenever interval mining changes; older miners stop.
    pub(crate) mining_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Permits of the calls running off the chain's thread.
    calls: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Most calls and estimates running at once off the chain's thread; more
/// wait their turn (each ends by `CALL_TIMEOUT`).
pub const MAX_CONCURRENT_CALLS: usize = 4;

/// One of the [`MAX_CONCURRENT_CALLS`] slots ([`ChainHandle::call_slot`]).
pub struct CallSlot(tokio::sync::OwnedSemaphorePermit);

impl ChainHandle {
    /// Starts the chain thread: restored from `state_file` (its snapshot
    /// and journal) when it exists, otherwise a new chain with the dev
    /// accounts funded, kept in `state_file` from then on.
    ///
    /// # Errors
    /// The state file is unreadable or cannot be written, or the thread
    /// cannot start.
    pub fn start(chain_id: u64, state_file: Option<PathBuf>) -> Result<Self, NodeError> {
        let (stored, file) = match &state_file {
            Some(path) => {
                let (stored, file) = StateFile::open::<ChainRecord>(path)?;
                (Some(stored), Some(file))
            }
            None => (None, None),
        };
        let (dump, records) = stored.map_or((None, Vec::new()), |s| (s.dump, s.records));
        let (jobs, receiver) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<_, StateFileError>>();
        std::thread::Builder::new()
            .name("devnode-chain".into())
            .stack_size(EXECUTION_STACK_SIZE)
            .spawn(move || {
                let signers = accounts::dev_signers();
                let mut chain = match dump {
                    Some(dump) => Chain::restore(dump, signers),
                    None => Chain::new(
                        ChainConfig {
                            chain_id,
                            allocation: accounts::genesis_allocation(),
                            genesis_timestamp: std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_secs()),
                        },
                        signers,
                    ),
                };
                for (line, record) in (2..).zip(records) {
                    if chain.apply_record(record).is_err() {
                        let path = file
                            .as_ref()
                            .map(|f| f.journal_path().to_owned())
                            .unwrap_or_default();
                        let _ = ready_tx.send(Err(StateFileError::Diverged { path, line }));
                        return;
                    }
                }
                if let Some(file) = file {
                    if let Err(error) = chain.keep_in(file) {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok((chain.events_sender(), chain.pending_sender())));
                while let Ok(job) = receiver.recv() {
                    let reply = job(&mut chain);
                    if let Err(error) = chain.commit() {
                        // Fail-stop: the job's answer is never sent, and
                        // every later request is told the chain stopped.
                        eprintln!(
                            "devnode: cannot write the state file ({error}); the chain \
                             stops here. The state file holds everything acknowledged \
                             before: free the disk or fix its permissions and restart."
                        );
                        return;
                    }
                    reply();
                }
            })?;
        let (events, pending_events) = ready_rx.recv().map_err(|_| NodeError::Stopped)??;
        Ok(Self {
            jobs,
            events,
            pending_events,
            mining_generation: std::sync::Arc::default(),
            calls: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CALLS)),
        })
    }

    /// Runs `job` on the chain thread and returns its result.
    ///
    /// # Errors
    /// The chain thread has stopped.
    pub async fn with<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Chain) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |chain| {
                let answer = job(chain);
                Box::new(move || {
                    let _ = reply.send(answer);
                })
            }))
            .map_err(|_| NodeError::Stopped)?;
        answer.await.map_err(|_| NodeError::Stopped)
    }

    /// Waits for one of the [`MAX_CONCURRENT_CALLS`] call slots. Taken
    /// before the chain prepares a call's snapshot, so waiting calls hold
    /// no copies of the state.
    ///
    /// # Errors
    /// [`NodeError::Busy`] when none came free within a call's deadline.
    pub async fn call_slot(&self) -> Result<CallSlot, NodeError> {
        // Each running call ends by its deadline, so a free slot comes
        // within one; a caller that waited longer is told the node is busy.
        let waited = tokio::time::timeout(
            crate::chain::CALL_TIMEOUT,
            self.calls.clone().acquire_owned(),
        )
        .await;
        match waited {
            Ok(Ok(permit)) => Ok(CallSlot(permit)),
            Ok(Err(_)) => Err(NodeError::Stopped),
            Err(_) => Err(NodeError::Busy),
        }
    }

    /// Runs `job` (a call on a snapshot the chain prepared) in `slot`, on a
    /// thread of its own with the execution stack, while the chain goes on.
    ///
    /// # Errors
    /// The thread cannot start or died.
    pub async fn off_chain<T: Send + 'static>(
        &self,
        slot: CallSlot,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let permit = slot.0;
        let (reply, answer) = oneshot::channel();
        std::thread::Builder::new()
            .name("devnode-call".into())
            .stack_size(EXECUTION_STACK_SIZE)
            .spawn(move || {
                // Held until the call ends, even if its requester left.
                let _permit = permit;
                let _ = reply.send(job());
            })?;
        answer.await.map_err(|_| NodeError::Stopped)
    }

    /// Runs `job` on the chain thread, blocking this thread.
    ///
    /// # Errors
    /// The chain thread has stopped.
    pub fn with_blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Chain) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (reply, answer) = mpsc::channel();
        self.jobs
            .send(Box::new(move |chain| {
                let answer = job(chain);
                Box::new(move || {
                    let _ = reply.send(answer);
                })
            }))
            .map_err(|_| NodeError::Stopped)?;
        answer.recv().map_err(|_| NodeError::Stopped)
    }

    /// Subscribes to mined and removed blocks.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    /// Subscribes to admitted transactions' hashes ([`ChainEvent::Pending`]).
    #[must_use]
    pub fn subscribe_pending(&self) -> broadcast::Receiver<ChainEvent> {
        self.pending_events.subscribe()
    }
}

/// How to run a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Address to serve on (port 0: any free port).
    pub listen: SocketAddr,
    /// Chain id.
    pub chain_id: u64,
    /// Load at start and keep the chain there: every change is written
    /// before it is acknowledged ([`crate::state_file`]).
    pub state_file: Option<PathBuf>,
    /// Mine a block every interval instead of one per transaction.
    pub block_time: Option<Duration>,
    /// The RPC server's connection limits (default
    /// [`crate::rpc::CONNECTION_LIMITS`]).
    pub connection_limits: pond_listener::ConnectionLimits,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            chain_id: DEFAULT_CHAIN_ID,
            state_file: None,
            block_time: None,
            connection_limits: crate::rpc::CONNECTION_LIMITS,
        }
    }
}

/// A running node.
pub struct Node {
    /// The chain.
    pub chain: ChainHandle,
    /// Where it serves.
    pub addr: SocketAddr,
    server: jsonrpsee::server::ServerHandle,
}

/// A dev account.
#[derive(Clone, Debug)]
pub struct DevAccount {
    /// Address.
    pub address: Address,
    /// Private key (hex, no `0x`).
    pub private_key: String,
    /// Signer.
    pub signer: PrivateKeySigner,
}

impl Node {
    /// Starts a node (inside a tokio runtime).
    ///
    /// # Errors
    /// The state file is unreadable or the port is taken.
    pub async fn spawn(config: NodeConfig) -> Result<Self, NodeError> {
        let chain = ChainHandle::start(config.chain_id, config.state_file.clone())?;
        let (server, addr) =
            crate::rpc::serve(chain.clone(), config.listen, config.connection_limits).await?;
        if let Some(interval) = config.block_time {
            chain.with(|c| c.set_automine(false)).await?.ok();
            crate::rpc::start_interval_mining(&chain, interval);
        } else {
            // The mining mode is the command line's: transactions a state
            // file kept waiting are mined now, as switching automine on
            // would.
            chain.with(|c| c.set_automine(true)).await?.ok();
        }
        Ok(Self {
            chain,
            addr,
            server,
        })
    }

    /// The HTTP URL.
    #[must_use]
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket URL.
    #[must_use]
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The funded dev accounts.
    #[must_use]
    pub fn accounts(&self) -> Vec<DevAccount> {
        accounts::dev_signers()
            .into_iter()
            .zip(accounts::dev_keys())
            .map(|(signer, private_key)| DevAccount {
                address: signer.address(),
                private_key,
                signer,
            })
            .collect()
    }

    /// Stops serving, folds the state file's journal into a snapshot (so
    /// the next start replays nothing) and lets go of the file.
    ///
    /// # Errors
    /// The snapshot cannot be written (the journal still holds everything).
    pub async fn stop(self) -> Result<(), NodeError> {
        let _ = self.server.stop();
        self.server.stopped().await;
        // An interval miner stops too: blocks after the state file is let
        // go would never be written.
        self.chain
            .mining_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.chain.with(Chain::close_state_file).await??;
        Ok(())
    }
}

/// Starts a node on a free loopback port with default settings.
///
/// # Errors
/// As [`Node::spawn`].
pub async fn spawn() -> Result<Node, NodeError> {
    Node::spawn(NodeConfig::default()).await
}
