/// The snapshot message, sent unreliably to each client every tick:
///
///     0x30 | tick u32 | server time µs u64 | baseline tick u32 (0xFFFF_FFFF: none) | entries u16 | entries
///
/// Each entry starts with `entity id u16 | op u8`:
///
///     op 0 removed   (the entity was in the baseline and is gone)
///     op 1 new       client id u64 | length varint | XORDelta against nothing
///     op 2 changed   length varint | XORDelta against the baseline's state
///
/// The snapshot is the baseline with the entries applied: an entity the baseline holds and no
/// entry names is unchanged and costs nothing. Integers are little-endian.
public enum SnapshotFormat {
    public static let kind: UInt8 = 0x30
    public static let headerSize = 19
    public static let noBaseline = UInt32.max

    enum Op {
        static let removed: UInt8 = 0
        static let new: UInt8 = 1
        static let changed: UInt8 = 2
    }
}
