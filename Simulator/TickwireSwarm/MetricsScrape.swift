import NIOCore
import NIOPosix

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

    /// A one-shot HTTP/1.0 GET; returns the whole response, status line and headers included.
    public static func get(host: String, port: Int, path: String, group: any EventLoopGroup) async throws -> String {
        try await exchange(host: host, port: port, request: "GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n", group: group)
    }

    /// Sends one HTTP/1.0 request and returns the whole response (the server closes after it).
    static func exchange(host: String, port: Int, request: String, group: any EventLoopGroup) async throws -> String {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: host, port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        try await channel.closeFuture.get()
        return try await channel.eventLoop.submit { collector.text }.get()
    }

    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        // Only touched on the channel's event loop.
        var text = ""
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
    }
}
