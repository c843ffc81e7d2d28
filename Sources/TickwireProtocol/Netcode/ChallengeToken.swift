import TickwireCrypto

/// The 300-byte challenge token: client id and user data, sealed with the server's challenge key.
/// Only the server opens it; the client echoes it back in its connection response.
public struct ChallengeToken: Equatable, Sendable {
    public var clientID: UInt64
    public var userData: [UInt8]

    public init(clientID: UInt64, userData: [UInt8]) {
        self.clientID = clientID
        self.userData = userData
    }

    /// The 300-byte plaintext: client id ‖ user data ‖ zeros.
    public func encodePlaintext() -> [UInt8] {
        var w = ByteWriter(capacity: Netcode.challengeTokenBytes)
        w.write(clientID)
        w.write(bytes: userData.prefix(Netcode.userDataBytes))
        w.pad(to: Netcode.challengeTokenBytes)
        return w.bytes
    }

    public func encrypt(sequence: UInt64, key: [UInt8]) -> [UInt8] {
        var buffer = encodePlaintext()
        buffer.withUnsafeMutableBytes { buf in
            key.withUnsafeBytes { k in
                NetcodeNonce.with(sequence: sequence) { n in
                    _ = AEAD.seal(
                        .chacha20Poly1305, buffer: buf, messageLength: Netcode.challengeTokenBytes - Netcode.macBytes,
                        associatedData: UnsafeRawBufferPointer(start: nil, count: 0), nonce: n, key: k)
                }
            }
        }
        return buffer
    }

    /// Opens a 300-byte encrypted challenge token; `nil` when it does not authenticate.
    public static func decrypt(_ encrypted: UnsafeRawBufferPointer, sequence: UInt64, key: [UInt8]) -> ChallengeToken? {
        guard encrypted.count == Netcode.challengeTokenBytes else { return nil }
        return withUnsafeTemporaryAllocation(byteCount: Netcode.challengeTokenBytes, alignment: 8) { buf in
            buf.copyMemory(from: encrypted)
            let opened = key.withUnsafeBytes { k in
                NetcodeNonce.with(sequence: sequence) { n in
                    AEAD.open(
                        .chacha20Poly1305, buffer: buf, ciphertextLength: Netcode.challengeTokenBytes,
                        associatedData: UnsafeRawBufferPointer(start: nil, count: 0), nonce: n, key: k)
                }
            }
            guard opened != nil else { return nil }
            var r = ByteReader(UnsafeRawBufferPointer(buf))
            guard let clientID = r.read(UInt64.self), let userData = r.readBytes(Netcode.userDataBytes) else {
                return nil
            }
            return ChallengeToken(clientID: clientID, userData: userData)
        }
    }
}
