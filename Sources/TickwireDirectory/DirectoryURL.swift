import NIOSSL
import PostgresNIO

/// Reads `--directory`: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`
/// (also `postgresql://`). The password may instead come from the environment (`PGPASSWORD`), so
/// that it stays out of process listings. sslmode defaults to `prefer`.
public enum DirectoryURL {
    public static func configuration(_ text: String, environment: [String: String] = [:]) throws(DirectoryURLError) -> PostgresClient.Configuration {
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { text.hasPrefix($0) }) else {
            throw .invalid("must start with postgres:// (postgres://USER@HOST:PORT/DATABASE)")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.lastIndex(of: "@") else { throw .invalid("names no user (postgres://USER@HOST:PORT/DATABASE)") }
        let credentials = rest[..<at]
        var location = rest[rest.index(after: at)...]
        let user: String
        var password: String? = environment["PGPASSWORD"]
        if let colon = credentials.firstIndex(of: ":") {
            user = percentDecoded(credentials[..<colon])
            password = percentDecoded(credentials[credentials.index(after: colon)...])
        } else {
            user = percentDecoded(credentials)
        }
        guard !user.isEmpty else { throw .invalid("names no user") }
        var database: String?
        if let slash = location.firstIndex(of: "/") {
            let name = location[location.index(after: slash)...]
            database = name.isEmpty ? nil : percentDecoded(name)
            location = location[..<slash]
        }
        var host = String(location)
        var port = 5432
        if location.hasPrefix("[") {
            guard let close = location.firstIndex(of: "]") else { throw .invalid("has an unclosed [IPv6] host") }
            host = String(location[location.index(after: location.startIndex)..<close])
            let after = location[location.index(after: close)...]
            if after.hasPrefix(":") { port = try parsePort(after.dropFirst()) }
        } else if let colon = location.lastIndex(of: ":") {
            host = String(location[..<colon])
            port = try parsePort(location[location.index(after: colon)...])
        }
        guard !host.isEmpty else { throw .invalid("names no host") }
        var tls = PostgresClient.Configuration.TLS.prefer(.makeClientConfiguration())
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == "sslmode" else {
                throw .invalid("knows only the parameter sslmode (disable, prefer, require), got '\(pair)'")
            }
            switch parts[1] {
            case "disable": tls = .disable
            case "prefer": tls = .prefer(.makeClientConfiguration())
            case "require": tls = .require(.makeClientConfiguration())
            default: throw .invalid("sslmode must be disable, prefer or require, got '\(parts[1])'")
            }
        }
        return PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
    }

    private static func parsePort(_ text: Substring) throws(DirectoryURLError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw .invalid("port must be 1...65535, got '\(text)'") }
        return port
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var i = text.utf8.startIndex
        let utf8 = text.utf8
        while i < utf8.endIndex {
            let byte = utf8[i]
            if byte == UInt8(ascii: "%"), let h = utf8.index(i, offsetBy: 2, limitedBy: utf8.endIndex), h < utf8.endIndex,
               let value = UInt8(String(decoding: utf8[utf8.index(after: i)...h], as: UTF8.self), radix: 16) {
                bytes.append(value)
                i = utf8.index(after: h)
            } else {
                bytes.append(byte)
                i = utf8.index(after: i)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The URL with any password replaced by `***`, for logs.
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text.lastIndex(of: "@"), at > schemeEnd.upperBound else { return text }
        let credentials = text[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

public enum DirectoryURLError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): "--directory \(why)"
        }
    }
}
