import Foundation
import NIOCore
import TickwireTransport

/// The Agones SDK sidecar's REST API on localhost (`AGONES_SDK_HTTP_PORT`, default 9358), the
/// calls a relay makes: read its GameServer, say ready, ping health, keep the `rooms` List, shut
/// down. JSON over HTTP/1.0; 64-bit integers travel as strings (grpc-gateway).
public struct AgonesSDK: Sendable {
    public static let defaultPort = 9358
    public let port: Int
    let group: any EventLoopGroup

    public init(port: Int = AgonesSDK.defaultPort, group: any EventLoopGroup) {
        self.port = port
        self.group = group
    }

    /// The port from `AGONES_SDK_HTTP_PORT`, else 9358.
    public static func port(environment: [String: String]) -> Int {
        environment["AGONES_SDK_HTTP_PORT"].flatMap { Int($0) }.flatMap { (1...65535).contains($0) ? $0 : nil } ?? defaultPort
    }

    /// What the relay reads of its GameServer.
    public struct GameServer: Sendable, Equatable {
        public struct Port: Sendable, Equatable {
            public var name: String
            public var port: Int
        }
        public var state: String
        public var address: String
        public var ports: [Port]
        /// `status.lists.rooms.values`: rooms assigned to this server (by allocation or by us).
        public var rooms: [String]
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unreachable(String)
        case status(path: String, code: Int, body: String)
        case malformed(path: String, why: String)

        public var description: String {
            switch self {
            case .unreachable(let why): "the Agones SDK sidecar on localhost is unreachable: \(why)"
            case .status(let path, let code, let body): "Agones SDK \(path) answered \(code): \(body.prefix(200))"
            case .malformed(let path, let why): "Agones SDK \(path) answered something unreadable: \(why)"
            }
        }
    }

    /// One call; returns the JSON body.
    @discardableResult
    func call(_ method: String, _ path: String, _ body: [String: Any] = [:]) async throws(Failure) -> Any? {
        let payload = (try? JSONSerialization.data(withJSONObject: body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var request = "\(method) \(path) HTTP/1.0\r\nHost: localhost:\(port)\r\n"
        if method != "GET" { request += "Content-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\n\r\n\(payload)" } else { request += "\r\n" }
        let response: String
        do { response = try await HTTPExchange.send(host: "127.0.0.1", port: port, request: request, group: group) } catch {
            throw .unreachable("\(error)")
        }
        guard let statusLine = response.split(separator: "\r\n", maxSplits: 1).first,
              let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw .malformed(path: path, why: "no HTTP status line")
        }
        let text = response.range(of: "\r\n\r\n").map { String(response[$0.upperBound...]) } ?? ""
        guard (200..<300).contains(code) else { throw .status(path: path, code: code, body: text) }
        return text.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    public func gameServer() async throws(Failure) -> GameServer {
        guard let object = try await call("GET", "/gameserver") as? [String: Any],
              let status = object["status"] as? [String: Any] else { throw .malformed(path: "/gameserver", why: "no status") }
        let ports = (status["ports"] as? [[String: Any]] ?? []).compactMap { port -> GameServer.Port? in
            guard let number = (port["port"] as? NSNumber)?.intValue ?? (port["port"] as? String).flatMap({ Int($0) }) else { return nil }
            return GameServer.Port(name: port["name"] as? String ?? "", port: number)
        }
        let lists = status["lists"] as? [String: Any]
        let rooms = (lists?["rooms"] as? [String: Any])?["values"] as? [String] ?? []
        return GameServer(state: status["state"] as? String ?? "", address: status["address"] as? String ?? "", ports: ports, rooms: rooms)
    }

    public func ready() async throws(Failure) { try await call("POST", "/ready") }
    public func health() async throws(Failure) { try await call("POST", "/health") }
    public func shutdown() async throws(Failure) { try await call("POST", "/shutdown") }

    public func setRoomsCapacity(_ capacity: Int) async throws(Failure) {
        try await call("PATCH", "/v1beta1/lists/rooms", ["capacity": String(capacity)])
    }

    public func addRoom(_ room: String) async throws(Failure) {
        try await call("POST", "/v1beta1/lists/rooms:addValue", ["value": room])
    }

    public func removeRoom(_ room: String) async throws(Failure) {
        try await call("POST", "/v1beta1/lists/rooms:removeValue", ["value": room])
    }
}
