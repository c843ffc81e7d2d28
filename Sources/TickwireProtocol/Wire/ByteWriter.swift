/// Appends little-endian integers and raw bytes to a growable array. Used for tokens and tests;
/// the per-packet paths write straight into an `OutboundQueue` slot with `UnsafeByteWriter`.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(bytes other: some Collection<UInt8>) { bytes.append(contentsOf: other) }

    public mutating func pad(to length: Int) {
        if bytes.count < length { bytes.append(contentsOf: repeatElement(0, count: length - bytes.count)) }
    }
}

/// Writes little-endian integers into caller-owned memory. Bounds are checked; a write past the
/// end sets `overflowed` and is ignored, so callers check once at the end.
///
/// Inlinable, so the relay's and the reliability layer's per-packet writes are specialized and
/// inlined where they are used instead of going through generic witness calls.
@frozen
public struct UnsafeByteWriter {
    public let buffer: UnsafeMutableRawBufferPointer
    @usableFromInline var _offset: Int
    @usableFromInline var _overflowed = false

    @inlinable public var offset: Int { _offset }
    @inlinable public var overflowed: Bool { _overflowed }

    @inlinable
    public init(_ buffer: UnsafeMutableRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self._offset = offset
    }

    @inlinable
    public mutating func write(_ value: UInt8) {
        guard offset < buffer.count else { _overflowed = true; return }
        buffer[offset] = value
        _offset += 1
    }

    @inlinable
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        guard offset + size <= buffer.count else { _overflowed = true; return }
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        _offset += size
    }

    @inlinable
    public mutating func write(bytes source: UnsafeRawBufferPointer) {
        guard offset + source.count <= buffer.count else { _overflowed = true; return }
        if source.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + source.count]).copyMemory(from: source)
        }
        _offset += source.count
    }

    @inlinable
    public mutating func write(bytes source: [UInt8]) {
        source.withUnsafeBytes { write(bytes: $0) }
    }

    /// Claims the next `count` bytes for the caller to fill, or marks overflow and returns nil.
    @inlinable
    public mutating func reserve(_ count: Int) -> UnsafeMutableRawPointer? {
        guard count >= 0, offset + count <= buffer.count, let base = buffer.baseAddress else {
            _overflowed = true
            return nil
        }
        defer { _offset += count }
        return base + offset
    }

    /// Goes back to an earlier offset, undoing what was written after it (and any overflow).
    @inlinable
    public mutating func rewind(to earlier: Int) {
        precondition(earlier <= offset && earlier >= 0)
        _offset = earlier
        _overflowed = false
    }

    /// Writes at an offset already written, without moving on (to fill in a count later).
    @inlinable
    public mutating func patch<T: FixedWidthInteger>(_ value: T, at position: Int) {
        precondition(position >= 0 && position + MemoryLayout<T>.size <= offset)
        buffer.storeBytes(of: value.littleEndian, toByteOffset: position, as: T.self)
    }

    /// LEB128: 7 bits per byte, low first; 1 byte below 128.
    @inlinable
    public mutating func writeVarint(_ value: Int) {
        precondition(value >= 0)
        var rest = UInt64(value)
        while rest >= 0x80 {
            write(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        write(UInt8(rest))
    }

    @inlinable
    public mutating func zero(count: Int) {
        guard offset + count <= buffer.count else { _overflowed = true; return }
        for i in offset..<offset + count { buffer[i] = 0 }
        _offset += count
    }
}
