import Testing
import TickwireCrypto
@testable import TickwireProtocol

/// Byte-exact checks against every vector made by the netcode reference implementation.
@Suite struct NetcodeVectorTests {
    @Test func privateTokenPlaintextEncodesExactly() throws {
        let secret = ConnectTokenPrivate(
            clientID: Vectors.clientID, timeoutSeconds: Vectors.timeoutSeconds, serverAddresses: Vectors.servers,
            clientToServerKey: Vectors.clientToServerKey, serverToClientKey: Vectors.serverToClientKey,
            userData: Vectors.userData)
        let plain = try Vectors.file("connect_token_private_plain.bin")
        #expect(try secret.encodePlaintext() == plain)
        let decoded = try plain.withUnsafeBytes { raw in try ConnectTokenPrivate.decode(plaintext: raw) }
        #expect(decoded == secret)
    }

    @Test func privateTokenEncryptsAndDecryptsExactly() throws {
        let plain = try Vectors.file("connect_token_private_plain.bin")
        let encrypted = try Vectors.file("connect_token_private_encrypted.bin")
        let sealed = try ConnectTokenPrivate.encrypt(
            plaintext: plain, protocolID: Vectors.protocolID, expireTimestamp: Vectors.expireTimestamp,
            nonce: Vectors.tokenNonce, key: Vectors.privateKey)
        #expect(sealed == encrypted)
        var buffer = encrypted
        let opened = buffer.withUnsafeMutableBytes { buf in
            Vectors.tokenNonce.withUnsafeBytes { n in
                Vectors.privateKey.withUnsafeBytes { k in
                    ConnectTokenPrivate.decrypt(
                        buffer: buf, protocolID: Vectors.protocolID, expireTimestamp: Vectors.expireTimestamp,
                        nonce: n, key: k)
                }
            }
        }
        #expect(opened)
        #expect(buffer.prefix(1008) == plain.prefix(1008))
    }

    @Test func privateTokenRejectsWrongAssociatedData() throws {
        for (protocolID, expire) in [(Vectors.protocolID &+ 1, Vectors.expireTimestamp), (Vectors.protocolID, Vectors.createTimestamp)] {
            var buffer = try Vectors.file("connect_token_private_encrypted.bin")
            let opened = buffer.withUnsafeMutableBytes { buf in
                Vectors.tokenNonce.withUnsafeBytes { n in
                    Vectors.privateKey.withUnsafeBytes { k in
                        ConnectTokenPrivate.decrypt(buffer: buf, protocolID: protocolID, expireTimestamp: expire, nonce: n, key: k)
                    }
                }
            }
            #expect(!opened)
        }
    }

    @Test func connectTokenDecodesAndReencodesExactly() throws {
        let bytes = try Vectors.file("connect_token.bin")
        let token = try ConnectToken.decode(bytes)
        #expect(token.protocolID == Vectors.protocolID)
        #expect(token.createTimestamp == Vectors.createTimestamp)
        #expect(token.expireTimestamp == Vectors.expireTimestamp)
        #expect(token.timeoutSeconds == Vectors.timeoutSeconds)
        #expect(token.serverAddresses == Vectors.servers)
        #expect(token.serverAddresses.map(\.description) == ["127.0.0.1:40000", "[2001:db8::1]:40001"])
        #expect(token.clientToServerKey == Vectors.clientToServerKey)
        #expect(token.serverToClientKey == Vectors.serverToClientKey)
        #expect(try token.encode() == bytes)
    }

    @Test func connectTokenMintsExactlyFromFixedInputs() throws {
        let request = ConnectTokenRequest(
            protocolID: Vectors.protocolID, clientID: Vectors.clientID, createTimestamp: Vectors.createTimestamp,
            expireSeconds: 3600, timeoutSeconds: Vectors.timeoutSeconds, publicServerAddresses: Vectors.servers,
            userData: Vectors.userData)
        let token = try ConnectTokenMinter.mint(
            request, privateKey: Vectors.privateKey, nonce: Vectors.tokenNonce,
            clientToServerKey: Vectors.clientToServerKey, serverToClientKey: Vectors.serverToClientKey)
        #expect(try token.encode() == Vectors.file("connect_token.bin"))
    }

    @Test func challengeTokenEncryptsExactly() throws {
        let token = ChallengeToken(clientID: Vectors.clientID, userData: Vectors.userData)
        #expect(token.encodePlaintext() == (try Vectors.file("challenge_token_plain.bin")))
        let encrypted = try Vectors.file("challenge_token_encrypted.bin")
        #expect(token.encrypt(sequence: 0, key: Vectors.challengeKey) == encrypted)
        let opened = encrypted.withUnsafeBytes { ChallengeToken.decrypt($0, sequence: 0, key: Vectors.challengeKey) }
        #expect(opened == token)
        let wrongSequence = encrypted.withUnsafeBytes { ChallengeToken.decrypt($0, sequence: 1, key: Vectors.challengeKey) }
        #expect(wrongSequence == nil)
    }

    @Test func connectionRequestEncodesExactly() throws {
        let token = try ConnectToken.decode(try Vectors.file("connect_token.bin"))
        let request = NetcodePacket.ConnectionRequest(token: token)
        let bytes = try Vectors.file("packet_connection_request.bin")
        #expect(request.encode() == bytes)
        let decoded = try bytes.withUnsafeBytes { NetcodePacket.ConnectionRequest.decode($0, protocolID: Vectors.protocolID) }.get()
        #expect(decoded == request)
    }

    struct EncryptedVector: CustomTestStringConvertible, Sendable {
        var file: String
        var name: String
        var sequence: UInt64
        var key: [UInt8]
        var testDescription: String { name }
    }

    static let encryptedVectors: [EncryptedVector] = [
        .init(file: "packet_connection_denied.bin", name: "packet_connection_denied", sequence: 1 << 63, key: Vectors.serverToClientKey),
        .init(file: "packet_connection_challenge.bin", name: "packet_connection_challenge", sequence: (1 << 63) + 1, key: Vectors.serverToClientKey),
        .init(file: "packet_connection_response.bin", name: "packet_connection_response", sequence: 3, key: Vectors.clientToServerKey),
        .init(file: "packet_keep_alive_server_to_client.bin", name: "packet_keep_alive_server_to_client", sequence: 0, key: Vectors.serverToClientKey),
        .init(file: "packet_keep_alive_client_to_server.bin", name: "packet_keep_alive_client_to_server", sequence: 4, key: Vectors.clientToServerKey),
        .init(file: "packet_payload_client_to_server_seq1000.bin", name: "packet_payload_client_to_server_seq1000", sequence: 1000, key: Vectors.clientToServerKey),
        .init(file: "packet_payload_server_to_client_seq5bytes.bin", name: "packet_payload_server_to_client_seq5bytes", sequence: 0x12_3456_789a, key: Vectors.serverToClientKey),
        .init(file: "packet_payload_max_1200.bin", name: "packet_payload_max_1200", sequence: .max, key: Vectors.clientToServerKey),
        .init(file: "packet_disconnect_client_to_server.bin", name: "packet_disconnect_client_to_server", sequence: 5, key: Vectors.clientToServerKey),
    ]

    @Test(arguments: encryptedVectors)
    func encryptedPacketDecodesAndReencodesExactly(_ vector: EncryptedVector) throws {
        let bytes = try Vectors.file(vector.file)
        let entry = try Vectors.entry(vector.name)
        let decoded = try NetcodePacket.decodeEncrypted(bytes, protocolID: Vectors.protocolID, key: vector.key).get()
        #expect(decoded.sequence == vector.sequence)
        #expect(decoded.packet.type.rawValue == UInt8(entry["packet_type"] as! Int))
        // The plaintext the reference recorded is exactly what the packet carries.
        let recordedPlaintext = Vectors.hex(entry["plaintext"] as! String)
        var plaintext = ByteWriter()
        switch decoded.packet {
        case .connectionChallenge(let s, let t), .connectionResponse(let s, let t):
            plaintext.write(s)
            plaintext.write(bytes: t)
        case .keepAlive(let i, let m):
            plaintext.write(i)
            plaintext.write(m)
        case .payload(let p): plaintext.write(bytes: p)
        case .connectionDenied, .disconnect, .connectionRequest: break
        }
        #expect(plaintext.bytes == recordedPlaintext)
        let reencoded = decoded.packet.encode(sequence: decoded.sequence, protocolID: Vectors.protocolID, key: vector.key)
        #expect(reencoded == bytes)
    }

    @Test func challengePacketCarriesTheChallengeTokenVector() throws {
        let packet = try NetcodePacket.decodeEncrypted(
            try Vectors.file("packet_connection_challenge.bin"), protocolID: Vectors.protocolID,
            key: Vectors.serverToClientKey).get().packet
        guard case .connectionChallenge(let sequence, let token) = packet else { Issue.record("not a challenge"); return }
        #expect(sequence == 0)
        #expect(token == (try Vectors.file("challenge_token_encrypted.bin")))
    }

    @Test func packetsFailWithTheWrongKeyOrProtocol() throws {
        let bytes = try Vectors.file("packet_payload_client_to_server_seq1000.bin")
        #expect(throws: NetcodeDropReason.decryptFailed) {
            try NetcodePacket.decodeEncrypted(bytes, protocolID: Vectors.protocolID, key: Vectors.serverToClientKey).get()
        }
        #expect(throws: NetcodeDropReason.decryptFailed) {
            try NetcodePacket.decodeEncrypted(bytes, protocolID: Vectors.protocolID + 1, key: Vectors.clientToServerKey).get()
        }
    }

    @Test func ipv6GroupsAreLittleEndianInTokens() {
        var w = ByteWriter()
        Vectors.servers[1].encode(into: &w)
        #expect(w.bytes == Vectors.hex("020120b80d000000000000000000000100419c"))
    }
}
