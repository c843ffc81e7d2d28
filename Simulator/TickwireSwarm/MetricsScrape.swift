import NIOCore
import NIOPosix
import NIOSSL
import TickwireTransport

/// Reads a relay's Prometheus endpoint (`tickwire serve --metrics`) so a capacity search can see
/// the server's tick overruns, not only what the bots receive.
public enum MetricsScrape {
    /// `GET /metrics` over HTTP/1.0; returns each sample line's value by metric name.
    public static func fetch(host: String, port: Int, group: any EventLoopGroup) async throws -> [String: Double] {
        let text = try await get(host: host, port: port, path: "/metrics", group: group)
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    /// The sum of a metric's series (every worker's, when labelled), nil when absent.
    public static func total(_ values: [String: Double], _ name: String) -> Double? {
        let series = values.filter { $0.key == name || $0.key.hasPrefix(name + "{") }
        return series.isEmpty ? nil : series.values.reduce(0, +)
    }

    /// A one-shot HTTP/1.0 GET; returns the whole response, status line and headers included.
    public static func get(host: String, port: Int, path: String, group: any EventLoopGroup) async throws -> String {
        try await HTTPExchange.send(host: host, port: port, request: "GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n", group: group)
    }
}
