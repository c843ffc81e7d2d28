import CSodium

/// The two AEADs of netcode 1.02, as total functions over caller-owned memory.
///
/// Both seal in place: the plaintext occupies `buffer[0..<messageLength]`, the 16-byte MAC is
/// written right after it, so `buffer` must hold at least `messageLength + macBytes` bytes.
/// Open is the reverse; it returns the plaintext length, or `nil` when authentication fails.
/// Nothing here allocates.
public enum AEAD {
    public static let keyBytes = 32
    public static let macBytes = 16
    public static let chachaNonceBytes = 12
    public static let xchachaNonceBytes = 24

    public enum Algorithm: Sendable {
        /// ChaCha20-Poly1305-IETF, 12-byte nonce: challenge tokens and packets.
        case chacha20Poly1305
        /// XChaCha20-Poly1305-IETF, 24-byte nonce: the private connect token.
        case xchacha20Poly1305

        public var nonceBytes: Int {
            switch self {
            case .chacha20Poly1305: return AEAD.chachaNonceBytes
            case .xchacha20Poly1305: return AEAD.xchachaNonceBytes
            }
        }
    }

    /// Encrypts `buffer[0..<messageLength]` in place and appends the MAC.
    /// - Returns: `false` only when the arguments have the wrong sizes.
    @discardableResult
    public static func seal(
        _ algorithm: Algorithm,
        buffer: UnsafeMutableRawBufferPointer,
        messageLength: Int,
        associatedData: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer
    ) -> Bool {
        Sodium.ensureInitialised()
        guard key.count == keyBytes, nonce.count == algorithm.nonceBytes,
            messageLength >= 0, buffer.count >= messageLength + macBytes,
            let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        else { return false }
        var written: UInt64 = 0
        let ad = associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let n = nonce.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let k = key.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let rc: Int32
        switch algorithm {
        case .chacha20Poly1305:
            rc = crypto_aead_chacha20poly1305_ietf_encrypt(
                base, &written, base, UInt64(messageLength), ad, UInt64(associatedData.count), nil, n, k)
        case .xchacha20Poly1305:
            rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
                base, &written, base, UInt64(messageLength), ad, UInt64(associatedData.count), nil, n, k)
        }
        return rc == 0 && Int(written) == messageLength + macBytes
    }

    /// Authenticates and decrypts `buffer[0..<ciphertextLength]` (ciphertext followed by MAC) in place.
    /// - Returns: the plaintext length, or `nil` if the sizes are wrong or the MAC does not verify.
    ///   On failure the buffer content is unspecified.
    public static func open(
        _ algorithm: Algorithm,
        buffer: UnsafeMutableRawBufferPointer,
        ciphertextLength: Int,
        associatedData: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer
    ) -> Int? {
        Sodium.ensureInitialised()
        guard key.count == keyBytes, nonce.count == algorithm.nonceBytes,
            ciphertextLength >= macBytes, buffer.count >= ciphertextLength,
            let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        else { return nil }
        var written: UInt64 = 0
        let ad = associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let n = nonce.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let k = key.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let rc: Int32
        switch algorithm {
        case .chacha20Poly1305:
            rc = crypto_aead_chacha20poly1305_ietf_decrypt(
                base, &written, nil, base, UInt64(ciphertextLength), ad, UInt64(associatedData.count), n, k)
        case .xchacha20Poly1305:
            rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
                base, &written, nil, base, UInt64(ciphertextLength), ad, UInt64(associatedData.count), n, k)
        }
        guard rc == 0 else { return nil }
        return Int(written)
    }
}
