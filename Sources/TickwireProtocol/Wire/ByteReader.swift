/// Reads little-endian integers from borrowed memory. Every read is bounds-checked and returns
/// `nil` past the end, so a truncated or hostile input can never trap.
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public private(set) var offset: Int

    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    public var remaining: Int { buffer.count - offset }

    public mutating func readUInt8() -> UInt8? {
        guard offset < buffer.count else { return nil }
        defer { offset += 1 }
        return buffer[offset]
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        defer { offset += size }
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(buffer[offset..<offset + count])
    }

    public mutating func readSlice(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        offset += count
        return true
    }

    /// Reads a LEB128 value of at most `limit`; nil when truncated, over-long or over the limit.
    public mutating func readVarint(limit: Int) -> Int? {
        var value = 0
        var shift = 0
        while shift < 28 {
            guard let byte = readUInt8() else { return nil }
            value |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                // Canonical only: no trailing zero groups.
                if shift > 0 && byte == 0 { return nil }
                return value <= limit ? value : nil
            }
            shift += 7
        }
        return nil
    }
}
