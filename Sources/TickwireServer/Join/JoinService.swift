import Foundation
import TickwireCrypto
import TickwirePlacement
import TickwireProtocol
import TickwireRelay

/// The join API's logic, apart from HTTP: checks the bearer key, places the room and reserves the
/// seat through the `RoomDirectory`, makes sure the worker hosts the room, and mints a connect
/// token that names only that worker's addresses. Answers are status codes and JSON bodies.
public struct JoinService: Sendable {
    /// One worker as the join API sees it: where clients reach it, and how to have it host a room.
    public struct Worker: Sendable {
        public var addresses: [NetcodeAddress]
        public var host: @Sendable (String) async throws -> Void

        public init(addresses: [NetcodeAddress], host: @escaping @Sendable (String) async throws -> Void) {
            self.addresses = addresses
            self.host = host
        }
    }

    public struct Answer: Sendable, Equatable {
        public var status: Int
        public var body: [UInt8]

        static func json(_ status: Int, _ object: [String: Any]) -> Answer {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            return Answer(status: status, body: Array(data) + [0x0A])
        }

        static func error(_ status: Int, _ code: String, _ detail: String? = nil) -> Answer {
            var object: [String: Any] = ["error": code]
            if let detail { object["detail"] = detail }
            return json(status, object)
        }
    }

    /// Largest request body read (a join is well under 1 KiB).
    public static let maxBodyBytes = 4096
    /// Largest `user_data`, after base64: what the token's user data leaves after the room name.
    public static let maxUserDataBytes = Netcode.userDataBytes - RoomTicket.maxRoomNameBytes

    let directory: any RoomDirectory
    let workers: [Worker]
    let apiKey: [UInt8]
    let privateKey: [UInt8]
    let protocolID: UInt64
    let tokenSeconds: UInt64
    let timeoutSeconds: Int32
    let wallClock: @Sendable () -> Double
    /// True while the process drains: joins are refused with 503 `draining`.
    let draining: @Sendable () -> Bool
    /// This process's id in a fleet directory (nil: a process on its own).
    let relayID: String?
    /// How long a join waits for another relay of the fleet to host the room it owns.
    static let remoteHostingSeconds = 3.0

    public init(directory: any RoomDirectory, workers: [Worker], apiKey: [UInt8], privateKey: [UInt8], protocolID: UInt64,
                tokenSeconds: UInt64 = 30, timeoutSeconds: Int32 = 5,
                wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                draining: @escaping @Sendable () -> Bool = { false }, relayID: String? = nil) {
        self.draining = draining
        self.relayID = relayID
        self.directory = directory
        self.workers = workers
        self.apiKey = apiKey
        self.privateKey = privateKey
        self.protocolID = protocolID
        self.tokenSeconds = tokenSeconds
        self.timeoutSeconds = timeoutSeconds
        self.wallClock = wallClock
    }

    /// Whether `authorization` (the header's value) is `Bearer <the key>`, compared in constant time.
    func authorized(_ authorization: String?) -> Bool {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        let given = Array(authorization.utf8.dropFirst("Bearer ".utf8.count))
        guard given.count == apiKey.count else { return false }
        var difference: UInt8 = 0
        for i in given.indices { difference |= given[i] ^ apiKey[i] }
        return difference == 0
    }

    /// `POST /v1/join`.
    public func join(body: [UInt8], authorization: String?) async -> Answer {
        guard authorized(authorization) else { return .error(401, "unauthorized", "send Authorization: Bearer <the join API key>") }
        guard body.count <= Self.maxBodyBytes else { return .error(413, "body_too_large", "at most \(Self.maxBodyBytes) bytes") }
        guard !draining() else { return .error(503, "draining", "this relay is shutting down; ask another") }
        let request: JoinRequest
        switch JoinRequest.parse(body) {
        case .success(let parsed): request = parsed
        case .failure(let problem): return .error(400, "bad_request", problem.description)
        }
        let now = wallClock()
        let created = UInt64(max(0, now))
        let expiresAt = created + tokenSeconds
        let placement: PlacementTable.Placement
        switch await directory.reserve(room: request.room, clientID: request.clientID, expiresAt: Double(expiresAt), now: now) {
        case .success(let placed): placement = placed
        case .failure(.roomFull): return .error(409, "room_full")
        case .failure(.noCapacity): return .error(503, "no_capacity", "every worker is at capacity; retry later")
        case .failure(.directoryUnavailable): return .error(503, "directory_unavailable", "the fleet's room directory cannot be reached; retry later")
        }
        // Every join (not only the one that placed the room) makes sure the worker hosts it before
        // the token is handed out, so a client can never arrive first.
        let addresses: [NetcodeAddress]
        if let remote = placement.remote {
            // Another relay of the fleet owns the room: it hosts it when it sees the claim.
            guard let address = NetcodeAddress(parsing: remote.address) else {
                return .error(500, "internal", "the directory gave relay \(remote.relay) an unreadable address '\(remote.address)'")
            }
            do { try await directory.awaitHosted(room: request.room, timeout: Self.remoteHostingSeconds) } catch {
                return .error(503, "worker_unavailable", "\(error)")
            }
            addresses = [address]
        } else {
            guard workers.indices.contains(placement.worker) else { return .error(500, "internal", "placement named an unknown worker") }
            do { try await workers[placement.worker].host(request.room) } catch { return .error(503, "worker_unavailable", "\(error)") }
            await directory.markHosted(room: request.room)
            addresses = workers[placement.worker].addresses
        }
        var userData = try! RoomTicket(room: request.room).encodeUserData()
        userData.replaceSubrange(RoomTicket.maxRoomNameBytes..<RoomTicket.maxRoomNameBytes + request.userData.count, with: request.userData)
        let tokenRequest = ConnectTokenRequest(
            protocolID: protocolID, clientID: request.clientID, createTimestamp: created, expireSeconds: tokenSeconds,
            timeoutSeconds: timeoutSeconds, publicServerAddresses: addresses, internalServerAddresses: nil,
            userData: userData)
        let token: [UInt8]
        do { token = try ConnectTokenMinter.random(tokenRequest, privateKey: privateKey).encode() } catch {
            return .error(500, "internal", "could not mint the token: \(error)")
        }
        var answer: [String: Any] = [
            "token": Data(token).base64EncodedString(), "server": addresses[0].description,
            "room": request.room, "worker": placement.worker, "expires_at": expiresAt,
        ]
        if let relay = placement.remote?.relay ?? relayID { answer["relay"] = relay }
        return .json(200, answer)
    }

    /// `GET /v1/rooms`.
    public func rooms(authorization: String?) async -> Answer {
        guard authorized(authorization) else { return .error(401, "unauthorized", "send Authorization: Bearer <the join API key>") }
        let rooms = await directory.rooms().map { room -> [String: Any] in
            var entry: [String: Any] = [
                "room": room.room, "worker": room.worker, "members": room.members, "reserved": room.reserved,
                "server": room.server ?? (workers.indices.contains(room.worker) ? workers[room.worker].addresses[0].description : ""),
            ]
            if let relay = room.relay { entry["relay"] = relay }
            return entry
        }
        let load = await directory.workers().map { w -> [String: Any] in
            var entry: [String: Any] = [
                "worker": w.worker, "capacity": w.capacity, "connected": w.connected, "free_slots": w.freeSlots,
                "tick_load": (w.tickLoad * 1000).rounded() / 1000,
            ]
            if let relay = w.relay { entry["relay"] = relay }
            if let server = w.server { entry["server"] = server }
            return entry
        }
        return .json(200, ["rooms": rooms, "workers": load])
    }
}

/// A parsed `POST /v1/join` body: `{"client_id": 7, "room": "arena-1", "user_data": "<base64>"}`.
struct JoinRequest: Equatable {
    var clientID: UInt64
    var room: String
    var userData: [UInt8]

    enum Problem: Error, CustomStringConvertible, Equatable {
        case notJSON
        case field(String, String)

        var description: String {
            switch self {
            case .notJSON: return "the body must be a JSON object such as {\"client_id\": 7, \"room\": \"arena-1\"}"
            case .field(let name, let why): return "\(name): \(why)"
            }
        }
    }

    static func expected(_ field: String?) -> String {
        switch field {
        case "client_id": return "an integer 1...18446744073709551615"
        case "room": return "a string of 1...64 bytes of UTF-8"
        case "user_data": return "base64 of at most \(JoinService.maxUserDataBytes) bytes"
        default: return "a JSON object"
        }
    }

    static func parse(_ body: [UInt8]) -> Result<JoinRequest, Problem> {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return .failure(.notJSON) }
        let known: Set<String> = ["client_id", "room", "user_data"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            return .failure(.field(unknown, "unknown field (known: client_id, room, user_data)"))
        }
        struct Fields: Decodable {
            var client_id: UInt64?
            var room: String?
            var user_data: String?
        }
        let fields: Fields
        do { fields = try JSONDecoder().decode(Fields.self, from: Data(body)) } catch let DecodingError.typeMismatch(_, context) {
            return .failure(.field(context.codingPath.first?.stringValue ?? "body", "wrong type: \(Self.expected(context.codingPath.first?.stringValue))"))
        } catch let DecodingError.dataCorrupted(context) {
            // The body parsed as JSON above, so what did not convert is a number: client_id is the
            // only numeric field (corelibs' decoder names no path for an out-of-range number).
            let field = context.codingPath.first?.stringValue ?? (object["client_id"] != nil ? "client_id" : "body")
            return .failure(.field(field, "must be \(Self.expected(field))"))
        } catch {
            return .failure(.notJSON)
        }
        guard let clientID = fields.client_id, clientID > 0 else { return .failure(.field("client_id", "required, \(expected("client_id"))")) }
        guard let room = fields.room else { return .failure(.field("room", "required, \(expected("room"))")) }
        do { _ = try RoomTicket(room: room) } catch { return .failure(.field("room", "\(error)")) }
        var userData: [UInt8] = []
        if let text = fields.user_data {
            guard let decoded = Data(base64Encoded: text) else {
                return .failure(.field("user_data", "must be base64"))
            }
            guard decoded.count <= JoinService.maxUserDataBytes else {
                return .failure(.field("user_data", "at most \(JoinService.maxUserDataBytes) bytes, got \(decoded.count)"))
            }
            userData = Array(decoded)
        }
        return .success(JoinRequest(clientID: clientID, room: room, userData: userData))
    }
}
