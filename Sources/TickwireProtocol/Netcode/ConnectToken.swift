import TickwireCrypto

/// The 2048-byte public connect token a backend hands to a client.
public struct ConnectToken: Equatable, Sendable {
    public var protocolID: UInt64
    public var createTimestamp: UInt64
    public var expireTimestamp: UInt64
    public var nonce: [UInt8]
    /// 1024 bytes: the encrypted `ConnectTokenPrivate` and its MAC.
    public var encryptedPrivate: [UInt8]
    public var timeoutSeconds: Int32
    /// The public addresses the client tries, in order.
    public var serverAddresses: [NetcodeAddress]
    public var clientToServerKey: [UInt8]
    public var serverToClientKey: [UInt8]

    public init(
        protocolID: UInt64, createTimestamp: UInt64, expireTimestamp: UInt64, nonce: [UInt8],
        encryptedPrivate: [UInt8], timeoutSeconds: Int32, serverAddresses: [NetcodeAddress],
        clientToServerKey: [UInt8], serverToClientKey: [UInt8]
    ) {
        self.protocolID = protocolID
        self.createTimestamp = createTimestamp
        self.expireTimestamp = expireTimestamp
        self.nonce = nonce
        self.encryptedPrivate = encryptedPrivate
        self.timeoutSeconds = timeoutSeconds
        self.serverAddresses = serverAddresses
        self.clientToServerKey = clientToServerKey
        self.serverToClientKey = serverToClientKey
    }

    /// Token lifetime as a duration; the client gives up connecting after this long.
    public var lifetimeSeconds: UInt64 { expireTimestamp &- createTimestamp }

    public func encode() throws(ConnectTokenError) -> [UInt8] {
        try ConnectTokenError.validate(addresses: serverAddresses)
        guard nonce.count == Netcode.connectTokenNonceBytes else { throw .invalidNonceLength }
        guard encryptedPrivate.count == Netcode.connectTokenPrivateBytes else { throw .truncated }
        guard clientToServerKey.count == Netcode.keyBytes, serverToClientKey.count == Netcode.keyBytes else {
            throw .invalidKeyLength
        }
        var w = ByteWriter(capacity: Netcode.connectTokenBytes)
        w.write(bytes: Netcode.versionInfo)
        w.write(protocolID)
        w.write(createTimestamp)
        w.write(expireTimestamp)
        w.write(bytes: nonce)
        w.write(bytes: encryptedPrivate)
        w.write(timeoutSeconds)
        w.write(UInt32(serverAddresses.count))
        for address in serverAddresses { address.encode(into: &w) }
        w.write(bytes: clientToServerKey)
        w.write(bytes: serverToClientKey)
        w.pad(to: Netcode.connectTokenBytes)
        return w.bytes
    }

    /// Reads a public token, checking what a client can check (netcode's `netcode_read_connect_token`).
    public static func decode(_ bytes: [UInt8]) throws(ConnectTokenError) -> ConnectToken {
        guard bytes.count == Netcode.connectTokenBytes else { throw .wrongSize(bytes.count) }
        let result: Result<ConnectToken, ConnectTokenError> = bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            guard let version = r.readBytes(Netcode.versionInfoBytes), version == Netcode.versionInfo else {
                return .failure(.versionMismatch)
            }
            guard let protocolID = r.read(UInt64.self), let create = r.read(UInt64.self),
                let expire = r.read(UInt64.self), let nonce = r.readBytes(Netcode.connectTokenNonceBytes),
                let encrypted = r.readBytes(Netcode.connectTokenPrivateBytes),
                let timeout = r.read(Int32.self), let count = r.read(UInt32.self)
            else { return .failure(.truncated) }
            guard create <= expire else { return .failure(.createAfterExpire) }
            guard count >= 1, count <= UInt32(Netcode.maxServersPerConnect) else {
                return .failure(.invalidAddressCount(Int(count)))
            }
            var addresses: [NetcodeAddress] = []
            for _ in 0..<count {
                guard let address = NetcodeAddress.decode(from: &r) else { return .failure(.invalidAddress) }
                addresses.append(address)
            }
            guard let c2s = r.readBytes(Netcode.keyBytes), let s2c = r.readBytes(Netcode.keyBytes) else {
                return .failure(.truncated)
            }
            return .success(
                ConnectToken(
                    protocolID: protocolID, createTimestamp: create, expireTimestamp: expire, nonce: nonce,
                    encryptedPrivate: encrypted, timeoutSeconds: timeout, serverAddresses: addresses,
                    clientToServerKey: c2s, serverToClientKey: s2c))
        }
        return try result.get()
    }
}

/// Everything a backend decides when it mints a token. Randomness (keys, nonce) is an input so the
/// simulator can mint deterministic tokens; `ConnectTokenMinter.random` fills it from libsodium.
public struct ConnectTokenRequest: Sendable {
    public var protocolID: UInt64
    public var clientID: UInt64
    public var createTimestamp: UInt64
    /// Seconds the token stays valid; `nil` means never expires (expire = 2^64-1, dev only).
    public var expireSeconds: UInt64?
    public var timeoutSeconds: Int32
    /// Addresses the client sends to.
    public var publicServerAddresses: [NetcodeAddress]
    /// Addresses the servers are bound to; defaults to the public list.
    public var internalServerAddresses: [NetcodeAddress]
    public var userData: [UInt8]

    public init(
        protocolID: UInt64, clientID: UInt64, createTimestamp: UInt64, expireSeconds: UInt64?,
        timeoutSeconds: Int32, publicServerAddresses: [NetcodeAddress],
        internalServerAddresses: [NetcodeAddress]? = nil, userData: [UInt8] = []
    ) {
        self.protocolID = protocolID
        self.clientID = clientID
        self.createTimestamp = createTimestamp
        self.expireSeconds = expireSeconds
        self.timeoutSeconds = timeoutSeconds
        self.publicServerAddresses = publicServerAddresses
        self.internalServerAddresses = internalServerAddresses ?? publicServerAddresses
        var padded = Array(userData.prefix(Netcode.userDataBytes))
        padded.append(contentsOf: repeatElement(0, count: Netcode.userDataBytes - padded.count))
        self.userData = padded
    }
}

public enum ConnectTokenMinter {
    /// Mints a token with the given secrets (private key, per-token nonce and session keys).
    public static func mint(
        _ request: ConnectTokenRequest, privateKey: [UInt8], nonce: [UInt8],
        clientToServerKey: [UInt8], serverToClientKey: [UInt8]
    ) throws(ConnectTokenError) -> ConnectToken {
        let expire: UInt64
        if let seconds = request.expireSeconds {
            let (sum, overflow) = request.createTimestamp.addingReportingOverflow(seconds)
            expire = overflow ? .max : sum
        } else {
            expire = .max
        }
        let secret = ConnectTokenPrivate(
            clientID: request.clientID, timeoutSeconds: request.timeoutSeconds,
            serverAddresses: request.internalServerAddresses, clientToServerKey: clientToServerKey,
            serverToClientKey: serverToClientKey, userData: request.userData)
        let encrypted = try ConnectTokenPrivate.encrypt(
            plaintext: try secret.encodePlaintext(), protocolID: request.protocolID, expireTimestamp: expire,
            nonce: nonce, key: privateKey)
        return ConnectToken(
            protocolID: request.protocolID, createTimestamp: request.createTimestamp, expireTimestamp: expire,
            nonce: nonce, encryptedPrivate: encrypted, timeoutSeconds: request.timeoutSeconds,
            serverAddresses: request.publicServerAddresses, clientToServerKey: clientToServerKey,
            serverToClientKey: serverToClientKey)
    }

    /// Mints a token with fresh random session keys and nonce from libsodium.
    public static func random(_ request: ConnectTokenRequest, privateKey: [UInt8]) throws(ConnectTokenError)
        -> ConnectToken
    {
        try mint(
            request, privateKey: privateKey, nonce: SecureRandom.bytes(Netcode.connectTokenNonceBytes),
            clientToServerKey: SecureRandom.bytes(Netcode.keyBytes),
            serverToClientKey: SecureRandom.bytes(Netcode.keyBytes))
    }
}
