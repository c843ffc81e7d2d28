import Foundation
import NIOConcurrencyHelpers
import Testing
import TickwireCrypto
import TickwirePlacement
import TickwireProtocol
import TickwireRelay
import TickwireServer

/// The join API's answers, without HTTP: a fixed wall clock, an in-memory directory, two workers
/// that record which rooms they were asked to host.
@Suite struct JoinServiceTests {
    static let apiKey = Array("0123456789abcdef0123".utf8)
    static let privateKey = SecureRandom.bytes(32)

    final class Hosted: Sendable {
        let rooms = NIOLockedValueBox<[Int: [String]]>([:])
    }

    func service(capacities: [Int] = [4, 4], roomCapacity: Int = 2, now: Double = 1_800_000_000) -> (JoinService, Hosted) {
        let hosted = Hosted()
        let workers = capacities.indices.map { index in
            JoinService.Worker(addresses: [.ipv4(127, 0, 0, 1, port: UInt16(40000 + index))]) { room in
                hosted.rooms.withLockedValue { $0[index, default: []].append(room) }
            }
        }
        let directory = InMemoryRoomDirectory(table: PlacementTable(workerCapacities: capacities, roomCapacity: roomCapacity))
        return (JoinService(directory: directory, workers: workers, apiKey: Self.apiKey, privateKey: Self.privateKey,
                            protocolID: 0x1234, tokenSeconds: 30, wallClock: { now }), hosted)
    }

    func post(_ service: JoinService, _ body: String, key: String? = "Bearer 0123456789abcdef0123") async -> (Int, [String: Any]) {
        let answer = await service.join(body: Array(body.utf8), authorization: key)
        let json = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any] ?? [:]
        return (answer.status, json)
    }

    @Test func aJoinMintsATokenForThePlacingWorkerOnly() async throws {
        let (service, hosted) = service()
        let (status, json) = await post(service, #"{"client_id": 7, "room": "arena-1", "user_data": "AQID"}"#)
        #expect(status == 200)
        let worker = try #require(json["worker"] as? Int)
        #expect(json["server"] as? String == "127.0.0.1:\(40000 + worker)")
        #expect(json["room"] as? String == "arena-1")
        #expect(json["expires_at"] as? Int == 1_800_000_030)
        let text = try #require(json["token"] as? String)
        let bytes = try #require(Data(base64Encoded: text))
        let token = try ConnectToken.decode(Array(bytes))
        #expect(token.serverAddresses == [.ipv4(127, 0, 0, 1, port: UInt16(40000 + worker))])
        #expect(token.protocolID == 0x1234 && token.expireTimestamp == 1_800_000_030)
        var sealed = token.encryptedPrivate
        let opened = sealed.withUnsafeMutableBytes { buffer in
            token.nonce.withUnsafeBytes { nonce in
                Self.privateKey.withUnsafeBytes { key in
                    ConnectTokenPrivate.decrypt(buffer: buffer, protocolID: token.protocolID, expireTimestamp: token.expireTimestamp, nonce: nonce, key: key)
                }
            }
        }
        #expect(opened)
        let secret = try sealed.withUnsafeBytes { try ConnectTokenPrivate.decode(plaintext: UnsafeRawBufferPointer(rebasing: $0[0..<Netcode.connectTokenPrivateBytes - 16])) }
        #expect(secret.clientID == 7)
        #expect(RoomTicket.decode(userData: secret.userData).room == "arena-1")
        #expect(Array(secret.userData[64..<67]) == [1, 2, 3])
        #expect(hosted.rooms.withLockedValue { $0 } == [worker: ["arena-1"]])
    }

    @Test func aFullRoomAnswers409AndNoCapacity503() async {
        let (service, _) = service(capacities: [2], roomCapacity: 1)
        #expect(await post(service, #"{"client_id": 1, "room": "a"}"#).0 == 200)
        let (full, json) = await post(service, #"{"client_id": 2, "room": "a"}"#)
        #expect(full == 409 && json["error"] as? String == "room_full")
        #expect(await post(service, #"{"client_id": 3, "room": "b"}"#).0 == 200)
        let (none, json2) = await post(service, #"{"client_id": 4, "room": "c"}"#)
        #expect(none == 503 && json2["error"] as? String == "no_capacity")
    }

    @Test func badInputsGetTheirStatusAndReason() async {
        let (service, hosted) = service()
        let cases: [(String, String?, Int, String)] = [
            (#"{"client_id": 1, "room": "a"}"#, nil, 401, "unauthorized"),
            (#"{"client_id": 1, "room": "a"}"#, "Bearer wrong-key-of-20-byt", 401, "unauthorized"),
            (#"{"client_id": 1, "room": "a"}"#, "Basic 0123456789abcdef0123", 401, "unauthorized"),
            ("not json", "Bearer 0123456789abcdef0123", 400, "the body must be a JSON object"),
            (#"[1, 2]"#, "Bearer 0123456789abcdef0123", 400, "the body must be a JSON object"),
            (#"{"room": "a"}"#, "Bearer 0123456789abcdef0123", 400, "client_id: required"),
            (#"{"client_id": 0, "room": "a"}"#, "Bearer 0123456789abcdef0123", 400, "client_id: required"),
            (#"{"client_id": -1, "room": "a"}"#, "Bearer 0123456789abcdef0123", 400, "client_id"),
            (#"{"client_id": "7", "room": "a"}"#, "Bearer 0123456789abcdef0123", 400, "client_id: wrong type"),
            (#"{"client_id": 1.5, "room": "a"}"#, "Bearer 0123456789abcdef0123", 400, "client_id"),
            (#"{"client_id": true, "room": "a"}"#, "Bearer 0123456789abcdef0123", 400, "client_id"),
            (#"{"client_id": 1}"#, "Bearer 0123456789abcdef0123", 400, "room: required"),
            (#"{"client_id": 1, "room": ""}"#, "Bearer 0123456789abcdef0123", 400, "room: a room name cannot be empty"),
            (#"{"client_id": 1, "room": "\#(String(repeating: "x", count: 65))"}"#, "Bearer 0123456789abcdef0123", 400, "room: a room name is at most 64 bytes"),
            (#"{"client_id": 1, "room": "a", "user_data": "***"}"#, "Bearer 0123456789abcdef0123", 400, "user_data: must be base64"),
            (#"{"client_id": 1, "room": "a", "user_data": "\#(Data(count: 193).base64EncodedString())"}"#, "Bearer 0123456789abcdef0123", 400, "user_data: at most 192 bytes"),
            (#"{"client_id": 1, "room": "a", "admin": true}"#, "Bearer 0123456789abcdef0123", 400, "admin: unknown field"),
            (String(repeating: " ", count: 5000), "Bearer 0123456789abcdef0123", 413, "at most 4096 bytes"),
        ]
        for (body, key, status, reason) in cases {
            let (got, json) = await post(service, body, key: key)
            let said = "\(json["error"] ?? "") \(json["detail"] ?? "")"
            #expect(got == status, "\(body.prefix(60)): \(said)")
            #expect(said.contains(reason), "\(body.prefix(60)): \(said)")
        }
        // Nothing was placed or hosted by any of them.
        #expect(hosted.rooms.withLockedValue { $0 }.isEmpty)
        let rooms = await service.rooms(authorization: "Bearer 0123456789abcdef0123")
        #expect(rooms.status == 200 && String(decoding: rooms.body, as: UTF8.self).contains(#""rooms":[]"#))
        #expect(await service.rooms(authorization: nil).status == 401)
    }
}
