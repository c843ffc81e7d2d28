import NIOCore
import NIOPosix
import NIOSSL

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
        try await exchange(host: host, port: port, request: "GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n", group: group)
    }

    /// Sends one HTTP/1.0 request and returns the whole response (the server closes after it);
    /// over TLS with `tls` (the certificate is checked against `serverHostname`, or the address).
    static func exchange(
        host: String, port: Int, request: String, tls: NIOSSLContext? = nil, serverHostname: String? = nil,
        group: any EventLoopGroup
    ) async throws -> String {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverHostname)) }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        try await channel.closeFuture.get()
        let (text, error) = try await channel.eventLoop.submit { (collector.text, collector.error) }.get()
        if let error { throw error }
        return text
    }

    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        // Only touched on the channel's event loop.
        var text = ""
        var error: (any Error)?
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A server that closes after its answer without TLS close_notify is not an error here.
            if let ssl = error as? NIOSSLError, case .uncleanShutdown = ssl, !text.isEmpty { return }
            self.error = error
            context.close(promise: nil)
        }
    }
}
