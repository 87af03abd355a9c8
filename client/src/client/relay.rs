//! Jobs signed by their creator and posted by anyone (`JobRelay`): an
//! EIP-712 `JobRequest` in the relay's domain, and optionally an EIP-2612
//! permit that moves the job's funds from the creator's wallet into the
//! vault in the same transaction, so a creator never needs gas or a vault
//! deposit of their own.

use super::{market_spec, posted, Client, ClientError, PostedJob};
use alloy::primitives::{Address, Bytes, Signature, B256, U256};
use alloy::signers::SignerSync;
use alloy::sol_types::{eip712_domain, SolStruct, SolValue};
use pond_bindings::relay::{self as abi, IJobRelay};

alloy::sol! {
    /// A machine's resources (the relay's EIP-712 type).
    struct Hardware { uint32 gpuCount; uint32 gpuMemoryGb; uint32 cpuCores; uint32 ramGb; uint32 diskGb; }
    /// A job (the relay's EIP-712 type).
    struct JobSpec {
        bytes32 moduleHash; string moduleUri; bytes32 inputHash; string inputUri;
        Hardware minHardware; uint64 maxDuration; uint256 maxPrice; uint64 matchDeadline;
        uint64 biddingWindow; uint256 offerId;
    }
    /// What the creator signs (`JobRelay.JOB_REQUEST_TYPE`).
    struct JobRequest { address creator; JobSpec spec; uint256 nonce; uint256 deadline; }
    /// EIP-2612.
    struct Permit { address owner; address spender; uint256 value; uint256 nonce; uint256 deadline; }
}

/// A signed permit for the vault to take `amount` from the creator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPermit {
    /// Tokens (base units).
    pub amount: U256,
    /// Valid until (unix seconds).
    pub deadline: U256,
    /// The creator's signature (65 bytes).
    pub signature: Bytes,
}

/// Where a signed job stands ([`Client::relayed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relayed {
    /// Posted as job `job` by `relayer` in `transaction`.
    Posted {
        /// The job's id.
        job: U256,
        /// Who paid the gas.
        relayer: Address,
        /// The transaction that posted it.
        transaction: B256,
    },
    /// Not posted yet, and still postable.
    Waiting,
    /// Another job signed with the same nonce was posted: this one never
    /// can be.
    NonceUsed,
    /// Not posted, and past its signature's deadline or its match
    /// deadline: it never can be.
    Expired,
}

/// A job request signed by its creator: what `pond job sign` writes and
/// `pond job relay` sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedJob {
    /// The chain it is valid on.
    pub chain_id: u64,
    /// The relay contract it is signed for.
    pub relay: Address,
    /// The creator.
    pub creator: Address,
    /// The job.
    pub job: super::JobRequest,
    /// The creator's relay nonce it uses.
    pub nonce: U256,
    /// Valid until (unix seconds).
    pub deadline: U256,
    /// The creator's signature (65 bytes).
    pub signature: Bytes,
    /// The permit funding it, if any.
    pub permit: Option<SignedPermit>,
}

fn typed_spec(job: &super::JobRequest) -> JobSpec {
    let m = market_spec(job.clone());
    JobSpec {
        moduleHash: m.moduleHash,
        moduleUri: m.moduleUri,
        inputHash: m.inputHash,
        inputUri: m.inputUri,
        minHardware: Hardware {
            gpuCount: m.minHardware.gpuCount,
            gpuMemoryGb: m.minHardware.gpuMemoryGb,
            cpuCores: m.minHardware.cpuCores,
            ramGb: m.minHardware.ramGb,
            diskGb: m.minHardware.diskGb,
        },
        maxDuration: m.maxDuration,
        maxPrice: m.maxPrice,
        matchDeadline: m.matchDeadline,
        biddingWindow: m.biddingWindow,
        offerId: m.offerId,
    }
}

fn split(signature: &Bytes) -> Result<(u8, B256, B256), ClientError> {
    let parsed = Signature::try_from(signature.as_ref())
        .map_err(|_| ClientError::BadInput("a signature is not 65 bytes of r, s, v".into()))?;
    Ok((
        27 + u8::from(parsed.v()),
        parsed.r().into(),
        parsed.s().into(),
    ))
}

impl Client {
    fn relay(&self) -> IJobRelay::IJobRelayInstance<&alloy::providers::DynProvider> {
        IJobRelay::new(self.deployment.contracts.relay, &self.provider)
    }

    fn signing_key(&self) -> Result<&alloy::signers::local::PrivateKeySigner, ClientError> {
        self.signer.as_ref().ok_or(ClientError::NoAccount)
    }

    /// Signs `job` for the relay as the account, valid for `valid_for`
    /// seconds; with `permit`, also signs an EIP-2612 permit for the vault
    /// to take that many tokens from the account's wallet. Nothing is sent.
    ///
    /// # Errors
    /// No account, a domain that is not the relay's or the token's (another
    /// deployment), or the chain cannot be read.
    pub async fn sign_job(
        &self,
        job: super::JobRequest,
        valid_for: u64,
        permit: Option<U256>,
    ) -> Result<SignedJob, ClientError> {
        let key = self.signing_key()?;
        let creator = key.address();
        let chain_id = self.deployment.chain_id;
        let relay = self.relay();
        let nonce = relay
            .nonces(creator)
            .call()
            .await
            .map_err(|e| self.classify("JobRelay", &e))?;
        let deadline = U256::from(self.now().await?.saturating_add(valid_for));
        let domain = eip712_domain! {
            name: "Pond Job Relay",
            version: "1",
            chain_id: chain_id,
            verifying_contract: self.deployment.contracts.relay,
        };
        let on_chain = relay
            .DOMAIN_SEPARATOR()
            .call()
            .await
            .map_err(|e| self.classify("JobRelay", &e))?;
        if on_chain != domain.separator() {
            return Err(ClientError::BadInput(
                "the relay's EIP-712 domain is not the one this client signs for".into(),
            ));
        }
        let request = JobRequest {
            creator,
            spec: typed_spec(&job),
            nonce,
            deadline,
        };
        let signature = key
            .sign_hash_sync(&request.eip712_signing_hash(&domain))
            .map_err(|e| ClientError::BadInput(format!("signing failed: {e}")))?;
        let permit = match permit {
            Some(amount) if !amount.is_zero() => Some(self.sign_permit(amount, deadline).await?),
            _ => None,
        };
        Ok(SignedJob {
            chain_id,
            relay: self.deployment.contracts.relay,
            creator,
            job,
            nonce,
            deadline,
            signature: Bytes::from(signature.as_bytes().to_vec()),
            permit,
        })
    }

    async fn sign_permit(&self, amount: U256, deadline: U256) -> Result<SignedPermit, ClientError> {
        let key = self.signing_key()?;
        let token = self.token();
        let name = token
            .name()
            .call()
            .await
            .map_err(|e| self.classify("PondToken", &e))?;
        let nonce = token
            .nonces(key.address())
            .call()
            .await
            .map_err(|e| self.classify("PondToken", &e))?;
        let domain = eip712_domain! {
            name: name,
            version: "1",
            chain_id: self.deployment.chain_id,
            verifying_contract: self.deployment.token,
        };
        let on_chain = token
            .DOMAIN_SEPARATOR()
            .call()
            .await
            .map_err(|e| self.classify("PondToken", &e))?;
        if on_chain != domain.separator() {
            return Err(ClientError::BadInput(
                "the token's EIP-2612 domain is not the one this client signs for".into(),
            ));
        }
        let permit = Permit {
            owner: key.address(),
            spender: self.deployment.contracts.vault,
            value: amount,
            nonce,
            deadline,
        };
        let signature = key
            .sign_hash_sync(&permit.eip712_signing_hash(&domain))
            .map_err(|e| ClientError::BadInput(format!("signing failed: {e}")))?;
        Ok(SignedPermit {
            amount,
            deadline,
            signature: Bytes::from(signature.as_bytes().to_vec()),
        })
    }

    /// Where `signed` stands on chain: posted (the job, who relayed it and
    /// in which transaction), still postable, or never postable any more
    /// (its nonce used by another job signed with it, or its signature or
    /// match deadline passed). Every read is of one block, so the answer
    /// is that block's; logs are read only once the nonce is used.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn relayed(&self, signed: &SignedJob) -> Result<Relayed, ClientError> {
        use alloy::{providers::Provider as _, sol_types::SolEvent};
        let head = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| self.transport(&e))?
            .ok_or_else(|| self.transport(&"the node has no latest block"))?;
        let (number, timestamp) = (head.header.number, head.header.timestamp);
        let relay = self.relay();
        let next = self
            .view(
                "JobRelay",
                relay
                    .nonces(signed.creator)
                    .block(alloy::eips::BlockId::number(number)),
            )
            .await?;
        if next <= signed.nonce {
            // A later block is no earlier than this one: past either
            // deadline now, the relay or the market refuses it for good.
            let past =
                U256::from(timestamp) > signed.deadline || timestamp >= signed.job.match_deadline;
            return Ok(if past {
                Relayed::Expired
            } else {
                Relayed::Waiting
            });
        }
        let address = self.deployment.contracts.relay;
        let filter = alloy::rpc::types::Filter::new()
            .address(address)
            .event_signature(IJobRelay::JobRelayed::SIGNATURE_HASH)
            .topic2(signed.creator.into_word())
            .from_block(self.deployment.deployment_block)
            .to_block(number);
        let posted = self
            .logs(&filter)
            .await?
            .iter()
            .filter(|log| log.address() == address)
            .find_map(|log| {
                let event = log.log_decode::<IJobRelay::JobRelayed>().ok()?;
                let data = &event.inner.data;
                (data.creator == signed.creator && data.nonce == signed.nonce).then(|| {
                    (
                        data.jobId,
                        data.relayer,
                        log.transaction_hash.unwrap_or_default(),
                    )
                })
            });
        let Some((job, relayer, transaction)) = posted else {
            return Ok(Relayed::NonceUsed);
        };
        // Another job signed with the same nonce is relayed the same way:
        // the posting is this one only if it is the job signed.
        Ok(if self.is_posting_of(job, &signed.job).await? {
            Relayed::Posted {
                job,
                relayer,
                transaction,
            }
        } else {
            Relayed::NonceUsed
        })
    }

    /// Whether job `id` on chain is `job` as it was requested.
    async fn is_posting_of(&self, id: U256, job: &super::JobRequest) -> Result<bool, ClientError> {
        let (Some(info), Some(data)) = (self.job(id).await?, self.job_data(id).await?) else {
            return Ok(false);
        };
        Ok(data.module_hash == job.module_hash
            && data.module_uri == job.module_uri
            && data.input_hash == job.input_hash
            && data.input_uri == job.input_uri
            && info.min_hardware == job.min_hardware
            && info.max_duration == job.max_duration
            && info.max_price == job.max_price
            && info.match_deadline == job.match_deadline)
    }

    /// Posts a job another account signed, paying the gas as this account.
    ///
    /// # Errors
    /// Signed for another chain or relay (bad input, nothing sent), the
    /// relay's named refusal (expired, bad signature, used nonce…; nothing
    /// sent), or the chain fails.
    pub async fn relay_job(&self, signed: &SignedJob) -> Result<PostedJob, ClientError> {
        if signed.chain_id != self.deployment.chain_id
            || signed.relay != self.deployment.contracts.relay
        {
            return Err(ClientError::BadInput(format!(
                "this job is signed for relay {} on chain {}, not this deployment's",
                signed.relay, signed.chain_id
            )));
        }
        let (v, r, s) = split(&signed.signature)?;
        let permit = match &signed.permit {
            Some(p) => {
                let (v, r, s) = split(&p.signature)?;
                abi::PermitData {
                    amount: p.amount,
                    deadline: p.deadline,
                    v,
                    r,
                    s,
                }
            }
            None => abi::PermitData {
                amount: U256::ZERO,
                deadline: U256::ZERO,
                v: 0,
                r: B256::ZERO,
                s: B256::ZERO,
            },
        };
        // The relay's ABI type has the typed-data type's layout: one
        // conversion, through the encoding.
        let spec = abi::JobSpec::abi_decode(&typed_spec(&signed.job).abi_encode())
            .map_err(|e| ClientError::BadInput(format!("the job does not encode: {e}")))?;
        let relay = self.relay();
        let send = |permit: abi::PermitData| {
            let call = relay.postJobFor(
                spec.clone(),
                signed.creator,
                signed.nonce,
                signed.deadline,
                v,
                r,
                s,
                permit,
            );
            async move { self.transact_receipt("JobRelay", call).await }
        };
        let receipt = match send(permit).await {
            // Anyone holding the file can spend its permit first (the job
            // signature does not cover it); the deposit is then already in
            // the vault, so post without it rather than fail the job.
            Err(ClientError::Revert(revert))
                if signed.permit.is_some() && revert.to_string().contains("PermitFailed") =>
            {
                send(abi::PermitData {
                    amount: U256::ZERO,
                    deadline: U256::ZERO,
                    v: 0,
                    r: B256::ZERO,
                    s: B256::ZERO,
                })
                .await?
            }
            other => other?,
        };
        posted(&receipt)
    }
}

/// The version of the signed-job file format.
pub(super) const SIGNED_JOB_VERSION: u64 = 1;

impl SignedJob {
    /// The signed-job file (JSON): amounts in base units as decimal strings.
    pub fn to_json(&self) -> serde_json::Value {
        let j = &self.job;
        let h = j.min_hardware;
        serde_json::json!({
            "version": SIGNED_JOB_VERSION,
            "chainId": self.chain_id,
            "relay": self.relay,
            "creator": self.creator,
            "job": {
                "moduleHash": j.module_hash, "moduleUri": j.module_uri,
                "inputHash": j.input_hash, "inputUri": j.input_uri,
                "minHardware": {
                    "gpuCount": h.gpu_count, "gpuMemoryGb": h.gpu_memory_gb,
                    "cpuCores": h.cpu_cores, "ramGb": h.ram_gb, "diskGb": h.disk_gb,
                },
                "maxDuration": j.max_duration, "maxPrice": j.max_price.to_string(),
                "matchDeadline": j.match_deadline, "biddingWindow": j.bidding_window,
                "offerId": j.offer_id.to_string(),
            },
            "nonce": self.nonce.to_string(),
            "deadline": self.deadline.to_string(),
            "signature": self.signature,
            "permit": self.permit.as_ref().map(|p| serde_json::json!({
                "amount": p.amount.to_string(),
                "deadline": p.deadline.to_string(),
                "signature": p.signature,
            })),
        })
    }

    /// Reads a signed-job file.
    ///
    /// # Errors
    /// A missing or malformed field, or another version ([`ClientError::BadInput`]).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, ClientError> {
        let bad = |field: &str| {
            ClientError::BadInput(format!("signed job: `{field}` is missing or malformed"))
        };
        let str_of = |v: &serde_json::Value, field: &str| -> Result<String, ClientError> {
            v.get(field)
                .and_then(|x| x.as_str())
                .map(str::to_owned)
                .ok_or_else(|| bad(field))
        };
        let u64_of = |v: &serde_json::Value, field: &str| -> Result<u64, ClientError> {
            v.get(field)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| bad(field))
        };
        let u32_of = |v: &serde_json::Value, field: &str| -> Result<u32, ClientError> {
            u32::try_from(u64_of(v, field)?).map_err(|_| bad(field))
        };
        let u256_of = |v: &serde_json::Value, field: &str| -> Result<U256, ClientError> {
            str_of(v, field)?.parse().map_err(|_| bad(field))
        };
        let parse = |v: &serde_json::Value, field: &str| -> Result<String, ClientError> {
            str_of(v, field)
        };
        if u64_of(value, "version")? != SIGNED_JOB_VERSION {
            return Err(ClientError::BadInput(format!(
                "signed job: version {} is not supported (this build reads {SIGNED_JOB_VERSION})",
                value["version"]
            )));
        }
        let job = value.get("job").ok_or_else(|| bad("job"))?;
        let hw = job.get("minHardware").ok_or_else(|| bad("minHardware"))?;
        let hash = |field: &str| -> Result<B256, ClientError> {
            parse(job, field)?.parse().map_err(|_| bad(field))
        };
        let bytes = |v: &serde_json::Value, field: &str| -> Result<Bytes, ClientError> {
            parse(v, field)?.parse().map_err(|_| bad(field))
        };
        let permit = match value.get("permit") {
            None | Some(serde_json::Value::Null) => None,
            Some(p) => Some(SignedPermit {
                amount: u256_of(p, "amount")?,
                deadline: u256_of(p, "deadline")?,
                signature: bytes(p, "signature")?,
            }),
        };
        Ok(Self {
            chain_id: u64_of(value, "chainId")?,
            relay: parse(value, "relay")?.parse().map_err(|_| bad("relay"))?,
            creator: parse(value, "creator")?
                .parse()
                .map_err(|_| bad("creator"))?,
            job: super::JobRequest {
                module_hash: hash("moduleHash")?,
                module_uri: parse(job, "moduleUri")?,
                input_hash: hash("inputHash")?,
                input_uri: parse(job, "inputUri")?,
                min_hardware: crate::hardware::Hardware {
                    gpu_count: u32_of(hw, "gpuCount")?,
                    gpu_memory_gb: u32_of(hw, "gpuMemoryGb")?,
                    cpu_cores: u32_of(hw, "cpuCores")?,
                    ram_gb: u32_of(hw, "ramGb")?,
                    disk_gb: u32_of(hw, "diskGb")?,
                },
                max_duration: u64_of(job, "maxDuration")?,
                max_price: u256_of(job, "maxPrice")?,
                match_deadline: u64_of(job, "matchDeadline")?,
                bidding_window: u64_of(job, "biddingWindow")?,
                offer_id: u256_of(job, "offerId")?,
            },
            nonce: u256_of(value, "nonce")?,
            deadline: u256_of(value, "deadline")?,
            signature: bytes(value, "signature")?,
            permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_type_is_the_relays() {
        // `JOB_REQUEST_TYPE` in contracts/relay/src/lib.rs.
        assert_eq!(
            JobRequest::eip712_encode_type(),
            "JobRequest(address creator,JobSpec spec,uint256 nonce,uint256 deadline)Hardware(uint32 gpuCount,uint32 gpuMemoryGb,uint32 cpuCores,uint32 ramGb,uint32 diskGb)JobSpec(bytes32 moduleHash,string moduleUri,bytes32 inputHash,string inputUri,Hardware minHardware,uint64 maxDuration,uint256 maxPrice,uint64 matchDeadline,uint64 biddingWindow,uint256 offerId)"
        );
    }

    #[test]
    fn a_signed_job_file_reads_back_and_bad_ones_are_refused() {
        let signed = SignedJob {
            chain_id: 412_346,
            relay: Address::repeat_byte(1),
            creator: Address::repeat_byte(2),
            job: super::super::JobRequest {
                module_hash: B256::repeat_byte(3),
                module_uri: "pond://m".into(),
                input_hash: B256::repeat_byte(4),
                input_uri: "pond://i".into(),
                min_hardware: crate::hardware::Hardware {
                    gpu_count: 1,
                    gpu_memory_gb: 24,
                    cpu_cores: 8,
                    ram_gb: 32,
                    disk_gb: 100,
                },
                max_duration: 3600,
                max_price: U256::from(10).pow(U256::from(30)),
                match_deadline: 99,
                bidding_window: 0,
                offer_id: U256::ZERO,
            },
            nonce: U256::from(7),
            deadline: U256::from(1_000),
            signature: Bytes::from(vec![1u8; 65]),
            permit: Some(SignedPermit {
                amount: U256::from(5),
                deadline: U256::from(1_000),
                signature: Bytes::from(vec![2u8; 65]),
            }),
        };
        let json = signed.to_json();
        assert_eq!(SignedJob::from_json(&json).ok(), Some(signed.clone()));
        let mut broken = json.clone();
        broken["job"]["maxPrice"] = "lots".into();
        assert!(matches!(
            SignedJob::from_json(&broken),
            Err(ClientError::BadInput(_))
        ));
        let mut future = json;
        future["version"] = 2.into();
        assert!(matches!(
            SignedJob::from_json(&future),
            Err(ClientError::BadInput(_))
        ));
    }
}
