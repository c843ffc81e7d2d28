/// The records that follow the packet header, each starting with a kind byte:
///
///     0x01 reliable message   id u16 | length u16 | bytes
///     0x02 reliable fragment  id u16 | index u16 | count u16 | length u16 | bytes
///     0x03 unreliable message length u16 | bytes
///
/// Integers are little-endian. Every fragment but the last carries exactly `fragmentSize` bytes.
enum ChannelRecord {
    static let reliableMessage: UInt8 = 0x01
    static let reliableFragment: UInt8 = 0x02
    static let unreliableMessage: UInt8 = 0x03

    static let messageHeaderSize = 5
    static let fragmentHeaderSize = 9
    static let unreliableHeaderSize = 3
}
