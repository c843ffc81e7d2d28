import TickwireProtocol

/// Schema-free delta coding of a byte blob against a baseline blob: the two are XORed (the
/// baseline padded with zeros or cut to the new length) and the result is written as runs of
/// `zero-run varint | literal-count varint | literal bytes` until the new length is covered.
/// Bytes that did not change cost nothing beyond their run's varint; a blob coded against an
/// empty baseline is the blob itself, run-length coded.
public enum XORDelta {
    /// Writes `state` against `baseline`. Returns false (and may have written part of it) when
    /// the writer ran out of room; rewind the writer in that case.
    public static func encode(_ state: UnsafeRawBufferPointer, against baseline: UnsafeRawBufferPointer, into writer: inout UnsafeByteWriter) -> Bool {
        let length = state.count
        guard length > 0, let s = state.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let covered = min(baseline.count, length)
        let b = baseline.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // Positions below `covered` XOR with the baseline; the rest are the state's own bytes.
        @inline(__always) func x(_ i: Int) -> UInt8 { i < covered ? s[i] ^ b.unsafelyUnwrapped[i] : s[i] }
        /// The first position at or after `i` whose XOR is not zero (or `length`), 8 bytes at a time where it can.
        @inline(__always) func skipZeros(from i: Int) -> Int {
            var i = i
            let raw = UnsafeRawPointer(s)
            if let b {
                let rawB = UnsafeRawPointer(b)
                while i + 8 <= covered,
                    raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) == rawB.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                    i += 8
                }
            }
            while i < length, x(i) == 0 { i += 1 }
            return i
        }
        var position = 0
        while position < length {
            let start = skipZeros(from: position)
            let zeros = start - position
            var end = start
            while end < length {
                if x(end) != 0 { end += 1; continue }
                let next = skipZeros(from: end)
                // A short zero run inside a literal is cheaper than two run headers.
                if next - end > 2 || next == length { break }
                end = next
            }
            writer.writeVarint(zeros)
            writer.writeVarint(end - start)
            guard let out = writer.reserve(end - start)?.assumingMemoryBound(to: UInt8.self) else { return false }
            for i in start..<end { out[i - start] = x(i) }
            if writer.overflowed { return false }
            position = end
        }
        return true
    }

    /// Reads a blob of `length` bytes coded against `baseline` and appends it to `output`.
    /// Returns false on malformed input (a run past the length or one that makes no progress),
    /// leaving `output` with partial content the caller must discard.
    public static func decode(_ reader: inout ByteReader, length: Int, against baseline: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        guard length > 0 else { return true }
        // The blob starts as the baseline (cut or zero-padded to the length); zero runs leave it
        // as it is and literals are XORed in. Written in place: no per-byte appends.
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: length))
        return output.withUnsafeMutableBytes { raw in
            let blob = UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + length])
            let covered = min(baseline.count, length)
            if covered > 0 { UnsafeMutableRawBufferPointer(rebasing: blob[0..<covered]).copyMemory(from: UnsafeRawBufferPointer(rebasing: baseline[0..<covered])) }
            var position = 0
            while position < length {
                guard let zeros = reader.readVarint(limit: length - position),
                      let count = reader.readVarint(limit: length - position - zeros),
                      zeros + count > 0,
                      let literal = reader.readSlice(count) else { return false }
                position += zeros
                for k in 0..<count { blob[position + k] ^= literal[k] }
                position += count
            }
            return true
        }
    }
}
