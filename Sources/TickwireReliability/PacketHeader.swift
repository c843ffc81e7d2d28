import TickwireProtocol

/// The acknowledgement header that starts every Tickwire packet (inside a netcode payload).
///
/// Modelled on reliable's header, 4 to 9 bytes:
///
///     prefix u8 | sequence u16 | ack: u8 (sequence − ack) or u16 | ack-bits bytes present in prefix
///
/// * prefix bit 0: always 0 (reliable's fragment flag; Tickwire fragments messages, not packets);
/// * prefix bits 1–4: ack-bits byte k follows; an absent byte means 0xFF (all received);
/// * prefix bit 5: the ack is one byte, `(sequence − ack) mod 65536`, which must be ≤ 255;
/// * prefix bits 6–7: zero.
///
/// `ack` is the newest packet sequence received from the peer; bit i of `ackBits` says packet
/// `ack − i` was received (bit 0 is the ack itself). Encoding is canonical: the decoder refuses
/// a present 0xFF byte or a two-byte ack that fits one byte, so every accepted header re-encodes
/// to exactly the bytes it came from.
public struct PacketHeader: Equatable, Hashable, Sendable {
    public var sequence: UInt16
    public var ack: UInt16
    public var ackBits: UInt32

    public static let minimumSize = 4
    public static let maximumSize = 9

    public init(sequence: UInt16, ack: UInt16, ackBits: UInt32) {
        self.sequence = sequence
        self.ack = ack
        self.ackBits = ackBits
    }

    @usableFromInline static let shortAckFlag: UInt8 = 1 << 5

    @inlinable
    var prefix: UInt8 {
        var prefix: UInt8 = 0
        for k in 0..<4 where (ackBits >> (8 * k)) & 0xFF != 0xFF { prefix |= 1 << (1 + k) }
        if sequence &- ack <= 255 { prefix |= Self.shortAckFlag }
        return prefix
    }

    public var encodedSize: Int {
        let prefix = self.prefix
        return 3 + (prefix & Self.shortAckFlag != 0 ? 1 : 2) + (prefix >> 1 & 0xF).nonzeroBitCount
    }

    @inlinable
    public func encode(into writer: inout UnsafeByteWriter) {
        let prefix = self.prefix
        writer.write(prefix)
        writer.write(sequence)
        if prefix & Self.shortAckFlag != 0 { writer.write(UInt8(truncatingIfNeeded: sequence &- ack)) } else { writer.write(ack) }
        for k in 0..<4 where prefix & (1 << (1 + k)) != 0 { writer.write(UInt8(truncatingIfNeeded: ackBits >> (8 * k))) }
    }

    public func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.maximumSize) { buffer, count in
            var writer = UnsafeByteWriter(UnsafeMutableRawBufferPointer(buffer))
            encode(into: &writer)
            count = writer.offset
        }
    }

    /// Reads a header; `nil` when it is truncated, uses reserved bits or is not canonical.
    @inlinable
    public static func decode(_ reader: inout ByteReader) -> PacketHeader? {
        guard let prefix = reader.readUInt8(), prefix & 0b1100_0001 == 0 else { return nil }
        guard let sequence = reader.read(UInt16.self) else { return nil }
        let ack: UInt16
        if prefix & shortAckFlag != 0 {
            guard let delta = reader.readUInt8() else { return nil }
            ack = sequence &- UInt16(delta)
        } else {
            guard let full = reader.read(UInt16.self), sequence &- full > 255 else { return nil }
            ack = full
        }
        var bits: UInt32 = 0
        for k in 0..<4 {
            let byte: UInt8
            if prefix & (1 << (1 + k)) != 0 {
                guard let present = reader.readUInt8(), present != 0xFF else { return nil }
                byte = present
            } else {
                byte = 0xFF
            }
            bits |= UInt32(byte) << (8 * k)
        }
        return PacketHeader(sequence: sequence, ack: ack, ackBits: bits)
    }

    public static func decode(_ bytes: [UInt8]) -> PacketHeader? {
        bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            return decode(&reader)
        }
    }
}
