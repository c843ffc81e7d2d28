/// Reads a fuzzer's byte string as a script of choices: every read is total, and past the end
/// every read returns zeros or empty slices, so any input is a valid script.
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isEmpty: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }

    /// The next `count` bytes, or as many as are left.
    mutating func slice(_ count: Int) -> [UInt8] {
        let n = max(0, min(count, bytes.count - offset))
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// A length-prefixed chunk: one length byte, or 0xFF then a u16 length.
    mutating func chunk(limit: Int = 1200) -> [UInt8] {
        var length = Int(byte())
        if length == 0xFF { length = Int(uint16()) }
        return slice(min(length, limit))
    }

    /// Everything not read yet.
    mutating func rest() -> [UInt8] { slice(bytes.count - offset) }
}
