import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import TickwireProtocol
import TickwireTransport

/// A client of a relay's join API (`POST /v1/join` on its admin port), as a game backend would
/// use it: one HTTP/1.0 request per join, the bearer key in the Authorization header.
public struct JoinAPIClient: Sendable {
    public struct Grant: Sendable, Equatable {
        public var token: [UInt8]
        public var server: NetcodeAddress
        public var room: String
        public var expiresAt: UInt64
        /// The relay process of a fleet that hosts the room (nil from a relay on its own).
        public var relay: String? = nil
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The API answered with an error status (409 room_full, 503 no_capacity, ...).
        case refused(status: Int, error: String)
        case unreachable(String)
        case malformedAnswer(String)

        public var description: String {
            switch self {
            case .refused(let status, let error): return "join API answered \(status) \(error)"
            case .unreachable(let why): return "join API unreachable: \(why)"
            case .malformedAnswer(let why): return "join API answer not understood: \(why)"
            }
        }
    }

    public let host: String
    public let port: Int
    let key: String
    /// Set for `https://`: the TLS context (the system's trust roots, or `trustRootsFile`).
    let tls: NIOSSLContext?

    /// `url` as `http://IP:PORT` or `https://IP:PORT` (the relay's admin address); `key` is the
    /// bearer key; `trustRootsFile` (PEM) replaces the system's roots for `https`, e.g. to trust a
    /// self-signed certificate.
    public init(url: String, key: String, trustRootsFile: String? = nil) throws(SwarmError) {
        var rest = Substring(url)
        let secure = rest.hasPrefix("https://")
        guard secure || rest.hasPrefix("http://") else {
            throw .invalid("--join-api must be http://IP:PORT or https://IP:PORT (the relay's admin address), got '\(url)'")
        }
        rest = rest.dropFirst(secure ? "https://".count : "http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let address = NetcodeAddress(parsing: String(rest)) else { throw .invalid("--join-api: '\(url)' has no IP:PORT") }
        host = address.hostDescription
        port = Int(address.port)
        self.key = key
        if secure {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let trustRootsFile { configuration.trustRoots = .file(trustRootsFile) }
            do { tls = try NIOSSLContext(configuration: configuration) } catch {
                throw .invalid("--join-api: cannot set up TLS (\(error)); check --join-api-ca")
            }
        } else {
            guard trustRootsFile == nil else { throw .invalid("--join-api-ca is for an https:// join API") }
            tls = nil
        }
    }

    /// Asks for a seat in `room` for `clientID`: the token and the worker address it names.
    public func join(clientID: UInt64, room: String, group: any EventLoopGroup) async throws(Failure) -> Grant {
        let body = "{\"client_id\":\(clientID),\"room\":\(Self.jsonString(room))}"
        let request = "POST /v1/join HTTP/1.0\r\nHost: \(host)\r\nAuthorization: Bearer \(key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let response: String
        do { response = try await HTTPExchange.send(host: host, port: port, request: request, tls: tls, group: group) } catch {
            throw .unreachable("\(error)")
        }
        guard let statusLine = response.split(separator: "\r\n", maxSplits: 1).first,
              let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }),
              let bodyStart = response.range(of: "\r\n\r\n") else { throw .malformedAnswer("no HTTP status line") }
        let json = (try? JSONSerialization.jsonObject(with: Data(response[bodyStart.upperBound...].utf8))) as? [String: Any] ?? [:]
        guard status == 200 else { throw .refused(status: status, error: json["error"] as? String ?? "?") }
        guard let text = json["token"] as? String, let token = Data(base64Encoded: text),
              let serverText = json["server"] as? String, let server = NetcodeAddress(parsing: serverText),
              let expires = json["expires_at"] as? NSNumber else { throw .malformedAnswer("missing token, server or expires_at") }
        return Grant(token: Array(token), server: server, room: json["room"] as? String ?? room, expiresAt: expires.uint64Value,
                     relay: json["relay"] as? String)
    }

    static func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
