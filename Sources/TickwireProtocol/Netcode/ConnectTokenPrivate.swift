import TickwireCrypto

/// The encrypted part of a connect token: what only the backend and the servers can read.
public struct ConnectTokenPrivate: Equatable, Sendable {
    public var clientID: UInt64
    /// Seconds of silence before either side times out; negative disables timeouts (dev only).
    public var timeoutSeconds: Int32
    /// The addresses the servers are bound to (the "internal" list the server checks itself against).
    public var serverAddresses: [NetcodeAddress]
    public var clientToServerKey: [UInt8]
    public var serverToClientKey: [UInt8]
    /// 256 opaque bytes from the backend (Tickwire puts the room here).
    public var userData: [UInt8]

    public init(
        clientID: UInt64, timeoutSeconds: Int32, serverAddresses: [NetcodeAddress],
        clientToServerKey: [UInt8], serverToClientKey: [UInt8], userData: [UInt8]
    ) {
        self.clientID = clientID
        self.timeoutSeconds = timeoutSeconds
        self.serverAddresses = serverAddresses
        self.clientToServerKey = clientToServerKey
        self.serverToClientKey = serverToClientKey
        self.userData = userData
    }

    /// The 1024-byte plaintext buffer; the AEAD covers its first 1008 bytes.
    public func encodePlaintext() throws(ConnectTokenError) -> [UInt8] {
        try ConnectTokenError.validate(addresses: serverAddresses)
        guard clientToServerKey.count == Netcode.keyBytes, serverToClientKey.count == Netcode.keyBytes else {
            throw .invalidKeyLength
        }
        guard userData.count == Netcode.userDataBytes else { throw .invalidUserDataLength(userData.count) }
        var w = ByteWriter(capacity: Netcode.connectTokenPrivateBytes)
        w.write(clientID)
        w.write(timeoutSeconds)
        w.write(UInt32(serverAddresses.count))
        for address in serverAddresses { address.encode(into: &w) }
        w.write(bytes: clientToServerKey)
        w.write(bytes: serverToClientKey)
        w.write(bytes: userData)
        w.pad(to: Netcode.connectTokenPrivateBytes)
        return w.bytes
    }

    /// Parses a decrypted private token (at least the first 1008 bytes).
    public static func decode(plaintext: UnsafeRawBufferPointer) throws(ConnectTokenError) -> ConnectTokenPrivate {
        var r = ByteReader(plaintext)
        guard let clientID = r.read(UInt64.self), let timeout = r.read(Int32.self),
            let count = r.read(UInt32.self)
        else { throw .truncated }
        guard count >= 1, count <= UInt32(Netcode.maxServersPerConnect) else { throw .invalidAddressCount(Int(count)) }
        var addresses: [NetcodeAddress] = []
        addresses.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let address = NetcodeAddress.decode(from: &r) else { throw .invalidAddress }
            addresses.append(address)
        }
        guard let c2s = r.readBytes(Netcode.keyBytes), let s2c = r.readBytes(Netcode.keyBytes),
            let userData = r.readBytes(Netcode.userDataBytes)
        else { throw .truncated }
        return ConnectTokenPrivate(
            clientID: clientID, timeoutSeconds: timeout, serverAddresses: addresses,
            clientToServerKey: c2s, serverToClientKey: s2c, userData: userData)
    }

    /// Associated data of the private token: version info ‖ protocol id ‖ expire timestamp (29 bytes).
    static func withAssociatedData<R>(
        protocolID: UInt64, expireTimestamp: UInt64, _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(byteCount: Netcode.versionInfoBytes + 16, alignment: 1) { ad in
            var w = UnsafeByteWriter(ad)
            for byte in Netcode.versionInfo { w.write(byte) }
            w.write(protocolID)
            w.write(expireTimestamp)
            return body(UnsafeRawBufferPointer(ad))
        }
    }

    /// Encrypts a 1024-byte plaintext: returns 1008 ciphertext bytes followed by the 16-byte MAC.
    public static func encrypt(
        plaintext: [UInt8], protocolID: UInt64, expireTimestamp: UInt64, nonce: [UInt8], key: [UInt8]
    ) throws(ConnectTokenError) -> [UInt8] {
        guard plaintext.count == Netcode.connectTokenPrivateBytes else { throw .truncated }
        guard nonce.count == Netcode.connectTokenNonceBytes else { throw .invalidNonceLength }
        guard key.count == Netcode.keyBytes else { throw .invalidKeyLength }
        var buffer = plaintext
        let ok = buffer.withUnsafeMutableBytes { buf in
            nonce.withUnsafeBytes { n in
                key.withUnsafeBytes { k in
                    withAssociatedData(protocolID: protocolID, expireTimestamp: expireTimestamp) { ad in
                        AEAD.seal(
                            .xchacha20Poly1305, buffer: buf,
                            messageLength: Netcode.connectTokenPrivateBytes - Netcode.macBytes,
                            associatedData: ad, nonce: n, key: k)
                    }
                }
            }
        }
        guard ok else { throw .encryptionFailed }
        return buffer
    }

    /// Decrypts 1024 encrypted bytes in place into `buffer`; returns `false` when the MAC fails.
    public static func decrypt(
        buffer: UnsafeMutableRawBufferPointer, protocolID: UInt64, expireTimestamp: UInt64,
        nonce: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer
    ) -> Bool {
        guard buffer.count >= Netcode.connectTokenPrivateBytes else { return false }
        return withAssociatedData(protocolID: protocolID, expireTimestamp: expireTimestamp) { ad in
            AEAD.open(
                .xchacha20Poly1305, buffer: buffer, ciphertextLength: Netcode.connectTokenPrivateBytes,
                associatedData: ad, nonce: nonce, key: key) != nil
        }
    }
}

/// Why a token could not be built or read. The descriptions are written for people running the CLI.
public enum ConnectTokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case wrongSize(Int)
    case versionMismatch
    case invalidAddressCount(Int)
    case invalidAddress
    case invalidKeyLength
    case invalidNonceLength
    case invalidUserDataLength(Int)
    case createAfterExpire
    case encryptionFailed
    case decryptionFailed

    static func validate(addresses: [NetcodeAddress]) throws(ConnectTokenError) {
        guard (1...Netcode.maxServersPerConnect).contains(addresses.count) else {
            throw .invalidAddressCount(addresses.count)
        }
    }

    public var description: String {
        switch self {
        case .truncated: return "the token is truncated"
        case .wrongSize(let n): return "a connect token is \(Netcode.connectTokenBytes) bytes, this one is \(n)"
        case .versionMismatch: return "the token is not a NETCODE 1.02 token"
        case .invalidAddressCount(let n): return "a token names 1 to 32 server addresses, this one \(n)"
        case .invalidAddress: return "the token holds an address of unknown type (only IPv4 = 1 and IPv6 = 2 exist)"
        case .invalidKeyLength: return "keys are exactly 32 bytes"
        case .invalidNonceLength: return "the token nonce is exactly 24 bytes"
        case .invalidUserDataLength(let n): return "user data is exactly 256 bytes, got \(n)"
        case .createAfterExpire: return "the token's create timestamp is after its expire timestamp"
        case .encryptionFailed: return "encrypting the private token failed"
        case .decryptionFailed: return "the private token did not decrypt: wrong key, protocol id or expiry"
        }
    }
}
