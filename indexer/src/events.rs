//! Pond's events, decoded with the bindings generated from the exported
//! Solidity interfaces (never hand-copied signatures).

use alloy::{
    primitives::{Address, Log as PrimitiveLog, B256},
    sol_types::SolEventInterface,
};
use pond_bindings::{deals, market, mediation, offers, registry, relay, token, vault, Contracts};

/// A decoded Pond event.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum PondEvent {
    Token(token::IPondToken::IPondTokenEvents),
    Vault(vault::IVault::IVaultEvents),
    Registry(registry::IRegistry::IRegistryEvents),
    Offers(offers::IOfferBook::IOfferBookEvents),
    Market(market::IMarket::IMarketEvents),
    Deals(deals::IDeals::IDealsEvents),
    Mediation(mediation::IMediation::IMediationEvents),
    Relay(relay::IJobRelay::IJobRelayEvents),
}

/// Which contract emitted a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Source {
    Token,
    Vault,
    Registry,
    Offers,
    Market,
    Deals,
    Mediation,
    Relay,
}

impl Source {
    /// The contract's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "PondToken",
            Self::Vault => "Vault",
            Self::Registry => "Registry",
            Self::Offers => "OfferBook",
            Self::Market => "Market",
            Self::Deals => "Deals",
            Self::Mediation => "Mediation",
            Self::Relay => "JobRelay",
        }
    }
}

/// The addresses to watch and what each one is.
#[derive(Clone, Debug)]
pub struct Watched {
    sources: Vec<(Address, Source)>,
}

impl Watched {
    /// The contracts of a deployment (the beacon emits nothing).
    #[must_use]
    pub fn new(contracts: &Contracts) -> Self {
        Self {
            sources: vec![
                (contracts.token, Source::Token),
                (contracts.vault, Source::Vault),
                (contracts.registry, Source::Registry),
                (contracts.offers, Source::Offers),
                (contracts.market, Source::Market),
                (contracts.deals, Source::Deals),
                (contracts.mediation, Source::Mediation),
                (contracts.relay, Source::Relay),
            ],
        }
    }

    /// Every watched address.
    #[must_use]
    pub fn addresses(&self) -> Vec<Address> {
        self.sources.iter().map(|(a, _)| *a).collect()
    }

    /// The source at `address`.
    #[must_use]
    pub fn source(&self, address: &Address) -> Option<Source> {
        self.sources
            .iter()
            .find(|(a, _)| a == address)
            .map(|(_, s)| *s)
    }
}

fn name_of(selectors: &[[u8; 32]], names: &'static [&'static str], topic: &B256) -> &'static str {
    selectors
        .binary_search(&topic.0)
        .ok()
        .and_then(|i| names.get(i).copied())
        .unwrap_or("Unknown")
}

/// Decodes a log from `source`: the event and its name. `None` for a log
/// the interface does not know (it is still kept raw).
#[must_use]
pub fn decode(source: Source, log: &PrimitiveLog) -> Option<(PondEvent, &'static str)> {
    let topic = *log.topics().first()?;
    macro_rules! decode_as {
        ($variant:ident, $events:ty) => {{
            let event = <$events as SolEventInterface>::decode_log(log).ok()?.data;
            let name = name_of(<$events>::SELECTORS, <$events>::VARIANT_NAMES, &topic);
            Some((PondEvent::$variant(event), name))
        }};
    }
    match source {
        Source::Token => decode_as!(Token, token::IPondToken::IPondTokenEvents),
        Source::Vault => decode_as!(Vault, vault::IVault::IVaultEvents),
        Source::Registry => decode_as!(Registry, registry::IRegistry::IRegistryEvents),
        Source::Offers => decode_as!(Offers, offers::IOfferBook::IOfferBookEvents),
        Source::Market => decode_as!(Market, market::IMarket::IMarketEvents),
        Source::Deals => decode_as!(Deals, deals::IDeals::IDealsEvents),
        Source::Mediation => decode_as!(Mediation, mediation::IMediation::IMediationEvents),
        Source::Relay => decode_as!(Relay, relay::IJobRelay::IJobRelayEvents),
    }
}
