/// Reads little-endian integers from borrowed memory. Every read is bounds-checked and returns
/// `nil` past the end, so a truncated or hostile input can never trap.
@frozen
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    @usableFromInline var _offset: Int

    @inlinable public var offset: Int { _offset }

    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self._offset = offset
    }

    @inlinable public var remaining: Int { buffer.count - offset }

    @inlinable
    public mutating func readUInt8() -> UInt8? {
        guard offset < buffer.count else { return nil }
        defer { _offset += 1 }
        return buffer[offset]
    }

    @inlinable
    public mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        defer { _offset += size }
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    @inlinable
    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { _offset += count }
        return Array(buffer[offset..<offset + count])
    }

    @inlinable
    public mutating func readSlice(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { _offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    @inlinable
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        _offset += count
        return true
    }

    /// Reads a LEB128 value of at most `limit`; nil when truncated, over-long or over the limit.
    @inlinable
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
