import TickwireCrypto

/// The 12-byte ChaCha20-Poly1305 nonce of netcode: four zero bytes ‖ sequence (u64 LE).
enum NetcodeNonce {
    @inline(__always)
    static func with<R>(sequence: UInt64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: AEAD.chachaNonceBytes, alignment: 1) { nonce in
            var w = UnsafeByteWriter(nonce)
            w.write(UInt32(0))
            w.write(sequence)
            return body(UnsafeRawBufferPointer(nonce))
        }
    }
}

/// Low-level framing of netcode's encrypted packets (every type but the connection request):
/// `prefix ‖ sequence (1–8 bytes, LE, minimal) ‖ ciphertext ‖ MAC`.
///
/// Both directions work in caller memory: `seal` writes a packet whose plaintext the caller has
/// already placed after the header, `open` authenticates and decrypts in place. No allocation.
public enum NetcodePacketCodec {
    /// Minimal number of bytes for a sequence number (1 for 0).
    @inline(__always)
    public static func sequenceByteCount(_ sequence: UInt64) -> Int {
        sequence == 0 ? 1 : (64 - sequence.leadingZeroBitCount + 7) / 8
    }

    /// Header length (prefix + sequence bytes) for a sequence.
    @inline(__always)
    public static func headerLength(sequence: UInt64) -> Int { 1 + sequenceByteCount(sequence) }

    /// Associated data: version info ‖ protocol id ‖ prefix byte (22 bytes).
    @inline(__always)
    static func withAssociatedData<R>(protocolID: UInt64, prefix: UInt8, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: Netcode.versionInfoBytes + 9, alignment: 1) { ad in
            var w = UnsafeByteWriter(ad)
            for byte in Netcode.versionInfo { w.write(byte) }
            w.write(protocolID)
            w.write(prefix)
            return body(UnsafeRawBufferPointer(ad))
        }
    }

    /// Writes the header into `buffer[0...]`, then encrypts `buffer[header..<header+plaintextLength]`
    /// in place and appends the MAC.
    /// - Returns: the packet length, or `nil` if `buffer` is too small or the key has the wrong size.
    public static func seal(
        type: NetcodePacketType, sequence: UInt64, plaintextLength: Int, protocolID: UInt64,
        key: UnsafeRawBufferPointer, buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        precondition(type != .connectionRequest, "connection requests are not encrypted packets")
        let sequenceBytes = sequenceByteCount(sequence)
        let header = 1 + sequenceBytes
        let total = header + plaintextLength + Netcode.macBytes
        guard buffer.count >= total else { return nil }
        let prefix = UInt8(sequenceBytes << 4) | type.rawValue
        buffer[0] = prefix
        var s = sequence
        for i in 0..<sequenceBytes {
            buffer[1 + i] = UInt8(truncatingIfNeeded: s)
            s >>= 8
        }
        let body = UnsafeMutableRawBufferPointer(rebasing: buffer[header..<total])
        let ok = withAssociatedData(protocolID: protocolID, prefix: prefix) { ad in
            NetcodeNonce.with(sequence: sequence) { nonce in
                AEAD.seal(.chacha20Poly1305, buffer: body, messageLength: plaintextLength,
                          associatedData: ad, nonce: nonce, key: key)
            }
        }
        return ok ? total : nil
    }

    /// What `parseHeader` learns before decryption.
    public struct Header: Equatable, Sendable {
        public var type: NetcodePacketType
        public var sequence: UInt64
        public var prefix: UInt8
        public var headerLength: Int
    }

    /// Reads prefix and sequence of an encrypted packet, with the reference implementation's
    /// checks in its order. Does not decrypt.
    public static func parseHeader(_ packet: UnsafeRawBufferPointer) -> Result<Header, NetcodeDropReason> {
        guard packet.count >= 1 + 1 + Netcode.macBytes else { return .failure(.tooSmall) }
        let prefix = packet[0]
        guard let type = NetcodePacketType(rawValue: prefix & 0x0f), type != .connectionRequest else {
            return .failure(.invalidPacketType)
        }
        let sequenceBytes = Int(prefix >> 4)
        guard (1...8).contains(sequenceBytes) else { return .failure(.invalidSequenceBytes) }
        guard packet.count >= 1 + sequenceBytes + Netcode.macBytes else { return .failure(.tooSmall) }
        var sequence: UInt64 = 0
        for i in 0..<sequenceBytes { sequence |= UInt64(packet[1 + i]) << (8 * UInt64(i)) }
        return .success(Header(type: type, sequence: sequence, prefix: prefix, headerLength: 1 + sequenceBytes))
    }

    /// Decrypts the body of a packet in place.
    /// - Returns: the plaintext length; the plaintext then starts at `header.headerLength`.
    public static func open(
        _ packet: UnsafeMutableRawBufferPointer, header: Header, protocolID: UInt64, key: UnsafeRawBufferPointer
    ) -> Int? {
        let body = UnsafeMutableRawBufferPointer(rebasing: packet[header.headerLength...])
        return withAssociatedData(protocolID: protocolID, prefix: header.prefix) { ad in
            NetcodeNonce.with(sequence: header.sequence) { nonce in
                AEAD.open(.chacha20Poly1305, buffer: body, ciphertextLength: body.count,
                          associatedData: ad, nonce: nonce, key: key)
            }
        }
    }

    /// The exact plaintext size each type must have after decryption (payload: 1...1200).
    public static func plaintextSizeIsValid(_ type: NetcodePacketType, _ size: Int) -> Bool {
        switch type {
        case .connectionRequest: return false
        case .connectionDenied, .disconnect: return size == 0
        case .connectionChallenge, .connectionResponse: return size == 8 + Netcode.challengeTokenBytes
        case .keepAlive: return size == 8
        case .payload: return (1...Netcode.maxPayloadBytes).contains(size)
        }
    }
}
