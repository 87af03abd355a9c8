//! The owned contracts' `IOwnable2Step` functions, forwarded to their
//! embedded OpenZeppelin `Ownable2Step`.

/// Implements OpenZeppelin's `IOwnable2Step` for `$contract` by forwarding
/// to its `Ownable2Step` field `$field`. The caller imports `alloc::vec`,
/// `alloc::vec::Vec`, `stylus_sdk::prelude::*` and lists
/// `IOwnable2Step<Error = ownable::Error>` in its `#[implements]`.
#[macro_export]
macro_rules! forward_ownable_two_step {
    ($contract:ty, $field:ident) => {
        #[public]
        impl openzeppelin_stylus::access::ownable_two_step::IOwnable2Step for $contract {
            type Error = openzeppelin_stylus::access::ownable::Error;

            fn owner(&self) -> alloy_primitives::Address {
                self.$field.owner()
            }

            fn pending_owner(&self) -> alloy_primitives::Address {
                self.$field.pending_owner()
            }

            fn transfer_ownership(
                &mut self,
                new_owner: alloy_primitives::Address,
            ) -> Result<(), Self::Error> {
                self.$field.transfer_ownership(new_owner)
            }

            fn accept_ownership(&mut self) -> Result<(), Self::Error> {
                self.$field.accept_ownership()
            }

            fn renounce_ownership(&mut self) -> Result<(), Self::Error> {
                self.$field.renounce_ownership()
            }
        }
    };
}
