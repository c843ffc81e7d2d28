import TickwireProtocol

/// Schema-free delta coding of a byte blob against a baseline blob: the two are XORed (the
/// baseline padded with zeros or cut to the new length) and the result is written as runs of
/// `zero-run varint | literal-count varint | literal bytes` until the new length is covered.
/// Bytes that did not change cost nothing beyond their run's varint; a blob coded against an
/// empty baseline is the blob itself, run-length coded.
public enum XORDelta {
    /// Zeros to pad a decoded blob past its baseline with.
    private static let zeroPadding = [UInt8](repeating: 0, count: 256)

    /// Writes `state` against `baseline`. Returns false (and may have written part of it) when
    /// the writer ran out of room; rewind the writer in that case.
    public static func encode(_ state: UnsafeRawBufferPointer, against baseline: UnsafeRawBufferPointer, into writer: inout UnsafeByteWriter) -> Bool {
        let length = state.count
        guard length > 0, let s = state.baseAddress else { return true }
        let covered = min(baseline.count, length)
        // The XOR is formed once, 8 bytes at a time, in scratch space on the stack; the runs are
        // then found in it and its literals copied out whole.
        return withUnsafeTemporaryAllocation(byteCount: length, alignment: 8) { scratch -> Bool in
            guard let x = scratch.baseAddress else { return true }
            var i = 0
            if let b = baseline.baseAddress {
                while i + 8 <= covered {
                    let word = s.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    x.storeBytes(of: word, toByteOffset: i, as: UInt64.self)
                    i += 8
                }
                while i < covered {
                    x.storeBytes(of: s.load(fromByteOffset: i, as: UInt8.self) ^ b.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
                    i += 1
                }
            }
            // Past the baseline, the state's own bytes.
            if i < length { (x + i).copyMemory(from: s + i, byteCount: length - i) }
            let bytes = x.assumingMemoryBound(to: UInt8.self)
            /// The first position at or after `i` whose XOR is not zero (or `length`).
            func skipZeros(from i: Int) -> Int {
                var i = i
                while i + 8 <= length, x.loadUnaligned(fromByteOffset: i, as: UInt64.self) == 0 { i += 8 }
                while i < length, bytes[i] == 0 { i += 1 }
                return i
            }
            /// The first position at or after `i` whose XOR is zero (or `length`), a word at a
            /// time: a word's zero bytes are the high bits of `(w - 0x01…) & ~w & 0x80…`, and the
            /// lowest one set is exact (a false one can only sit above a true one).
            func skipLiteral(from i: Int) -> Int {
                var i = i
                while i + 8 <= length {
                    let word = UInt64(littleEndian: x.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    let zeroBytes = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
                    if zeroBytes != 0 { return i + zeroBytes.trailingZeroBitCount >> 3 }
                    i += 8
                }
                while i < length, bytes[i] != 0 { i += 1 }
                return i
            }
            var position = 0
            while position < length {
                let start = skipZeros(from: position)
                let zeros = start - position
                var end = start
                while end < length {
                    end = skipLiteral(from: end)
                    if end == length { break }
                    let next = skipZeros(from: end)
                    // A short zero run inside a literal is cheaper than two run headers.
                    if next - end > 2 || next == length { break }
                    end = next
                }
                let count = end - start
                // Both run headers under 128 (one byte each, the usual case): claimed with the
                // literal in one reservation.
                let out: UnsafeMutableRawPointer
                if zeros < 0x80, count < 0x80 {
                    guard let run = writer.reserve(2 + count) else { return false }
                    run.storeBytes(of: UInt8(truncatingIfNeeded: zeros), as: UInt8.self)
                    run.storeBytes(of: UInt8(truncatingIfNeeded: count), toByteOffset: 1, as: UInt8.self)
                    out = run + 2
                } else {
                    writer.writeVarint(zeros)
                    writer.writeVarint(count)
                    guard let literal = writer.reserve(count) else { return false }
                    out = literal
                }
                if count > 0 { out.copyMemory(from: x + start, byteCount: count) }
                if writer.overflowed { return false }
                position = end
            }
            return true
        }
    }

    /// Reads a blob of `length` bytes coded against `baseline` and appends it to `output`.
    /// Returns false on malformed input (a run past the length or one that makes no progress),
    /// leaving `output` with partial content the caller must discard.
    public static func decode(_ reader: inout ByteReader, length: Int, against baseline: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        guard length > 0 else { return true }
        // The blob starts as the baseline (cut or zero-padded to the length); zero runs leave it
        // as it is and literals are XORed in. Written in place: no per-byte appends.
        let start = output.count
        let covered = min(baseline.count, length)
        // Appended from contiguous memory (a copy, not an element at a time).
        if covered > 0 { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: baseline[0..<covered])) }
        var padding = length - covered
        while padding > 0 {
            let count = min(padding, zeroPadding.count)
            zeroPadding.withUnsafeBytes { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            padding -= count
        }
        return output.withUnsafeMutableBytes { raw in
            let blob = UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + length])
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
