// The block-hash beacon emits no events: it keeps no state.
interface IBlockHashBeaconEvents {
}
