/// A decoded netcode packet, for the handshake paths, tests and tools. The payload hot path uses
/// `NetcodePacketCodec` directly and never builds one of these.
public enum NetcodePacket: Equatable, Sendable {
    case connectionRequest(ConnectionRequest)
    case connectionDenied
    case connectionChallenge(sequence: UInt64, token: [UInt8])
    case connectionResponse(sequence: UInt64, token: [UInt8])
    case keepAlive(clientIndex: UInt32, maxClients: UInt32)
    case payload([UInt8])
    case disconnect

    public var type: NetcodePacketType {
        switch self {
        case .connectionRequest: return .connectionRequest
        case .connectionDenied: return .connectionDenied
        case .connectionChallenge: return .connectionChallenge
        case .connectionResponse: return .connectionResponse
        case .keepAlive: return .keepAlive
        case .payload: return .payload
        case .disconnect: return .disconnect
        }
    }

    /// The unencrypted connection request (type 0, always 1078 bytes).
    public struct ConnectionRequest: Equatable, Sendable {
        public var protocolID: UInt64
        public var expireTimestamp: UInt64
        public var nonce: [UInt8]
        public var encryptedPrivate: [UInt8]

        public init(protocolID: UInt64, expireTimestamp: UInt64, nonce: [UInt8], encryptedPrivate: [UInt8]) {
            self.protocolID = protocolID
            self.expireTimestamp = expireTimestamp
            self.nonce = nonce
            self.encryptedPrivate = encryptedPrivate
        }

        public init(token: ConnectToken) {
            self.init(
                protocolID: token.protocolID, expireTimestamp: token.expireTimestamp, nonce: token.nonce,
                encryptedPrivate: token.encryptedPrivate)
        }

        public func encode() -> [UInt8] {
            var w = ByteWriter(capacity: Netcode.connectionRequestBytes)
            w.write(UInt8(0))
            w.write(bytes: Netcode.versionInfo)
            w.write(protocolID)
            w.write(expireTimestamp)
            w.write(bytes: nonce)
            w.write(bytes: encryptedPrivate)
            return w.bytes
        }

        /// Framing checks in the reference order: size, version, protocol id. Expiry and
        /// decryption are the server's next steps.
        public static func decode(_ packet: UnsafeRawBufferPointer, protocolID expected: UInt64)
            -> Result<ConnectionRequest, NetcodeDropReason>
        {
            guard packet.count == Netcode.connectionRequestBytes else {
                return .failure(packet.count < Netcode.connectionRequestBytes ? .tooSmall : .tooLarge)
            }
            var r = ByteReader(packet, offset: 1)
            guard let version = r.readSlice(Netcode.versionInfoBytes),
                version.elementsEqual(Netcode.versionInfo)
            else { return .failure(.versionMismatch) }
            guard let protocolID = r.read(UInt64.self), protocolID == expected else {
                return .failure(.protocolMismatch)
            }
            guard let expire = r.read(UInt64.self), let nonce = r.readBytes(Netcode.connectTokenNonceBytes),
                let encrypted = r.readBytes(Netcode.connectTokenPrivateBytes)
            else { return .failure(.tooSmall) }
            return .success(
                ConnectionRequest(protocolID: protocolID, expireTimestamp: expire, nonce: nonce, encryptedPrivate: encrypted))
        }
    }

    /// Encodes and (for types ≥ 1) encrypts. Returns `nil` only for invalid field sizes.
    public func encode(sequence: UInt64, protocolID: UInt64, key: [UInt8]) -> [UInt8]? {
        if case .connectionRequest(let request) = self { return request.encode() }
        var plaintext = ByteWriter(capacity: 320)
        switch self {
        case .connectionRequest, .connectionDenied, .disconnect:
            break
        case .connectionChallenge(let s, let token), .connectionResponse(let s, let token):
            guard token.count == Netcode.challengeTokenBytes else { return nil }
            plaintext.write(s)
            plaintext.write(bytes: token)
        case .keepAlive(let index, let max):
            plaintext.write(index)
            plaintext.write(max)
        case .payload(let bytes):
            guard (1...Netcode.maxPayloadBytes).contains(bytes.count) else { return nil }
            plaintext.write(bytes: bytes)
        }
        let header = NetcodePacketCodec.headerLength(sequence: sequence)
        var out = [UInt8](repeating: 0, count: header + plaintext.bytes.count + Netcode.macBytes)
        out.replaceSubrange(header..<header + plaintext.bytes.count, with: plaintext.bytes)
        let length = out.withUnsafeMutableBytes { buf in
            key.withUnsafeBytes { k in
                NetcodePacketCodec.seal(
                    type: type, sequence: sequence, plaintextLength: plaintext.bytes.count,
                    protocolID: protocolID, key: k, buffer: buf)
            }
        }
        return length == nil ? nil : out
    }

    /// Decodes an encrypted packet (type ≥ 1): header checks, decryption and exact-size checks.
    /// Replay protection is the caller's (it depends on connection state).
    public static func decodeEncrypted(_ packet: [UInt8], protocolID: UInt64, key: [UInt8])
        -> Result<(sequence: UInt64, packet: NetcodePacket), NetcodeDropReason>
    {
        var copy = packet
        return copy.withUnsafeMutableBytes { buf in
            let header: NetcodePacketCodec.Header
            switch NetcodePacketCodec.parseHeader(UnsafeRawBufferPointer(buf)) {
            case .failure(let reason): return .failure(reason)
            case .success(let h): header = h
            }
            guard let length = key.withUnsafeBytes({ k in
                NetcodePacketCodec.open(buf, header: header, protocolID: protocolID, key: k)
            }) else { return .failure(.decryptFailed) }
            let plaintext = UnsafeRawBufferPointer(rebasing: buf[header.headerLength..<header.headerLength + length])
            switch parsePlaintext(type: header.type, plaintext) {
            case .failure(let reason): return .failure(reason)
            case .success(let p): return .success((header.sequence, p))
            }
        }
    }

    /// Parses a decrypted body of the given type, with the exact-size checks.
    public static func parsePlaintext(type: NetcodePacketType, _ plaintext: UnsafeRawBufferPointer)
        -> Result<NetcodePacket, NetcodeDropReason>
    {
        guard NetcodePacketCodec.plaintextSizeIsValid(type, plaintext.count) else {
            return .failure(.invalidPlaintextSize)
        }
        var r = ByteReader(plaintext)
        switch type {
        case .connectionRequest: return .failure(.invalidPacketType)
        case .connectionDenied: return .success(.connectionDenied)
        case .disconnect: return .success(.disconnect)
        case .connectionChallenge, .connectionResponse:
            let sequence = r.read(UInt64.self)!
            let token = r.readBytes(Netcode.challengeTokenBytes)!
            return .success(
                type == .connectionChallenge
                    ? .connectionChallenge(sequence: sequence, token: token)
                    : .connectionResponse(sequence: sequence, token: token))
        case .keepAlive:
            return .success(.keepAlive(clientIndex: r.read(UInt32.self)!, maxClients: r.read(UInt32.self)!))
        case .payload:
            return .success(.payload(Array(plaintext)))
        }
    }
}
