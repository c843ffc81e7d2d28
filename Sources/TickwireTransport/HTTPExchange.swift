import NIOCore
import NIOPosix
import NIOSSL

/// One HTTP/1.0 request and its whole answer over a fresh connection that the server closes:
/// what the swarm uses to scrape metrics and ask a join API, and the relay to call the Agones SDK
/// sidecar on localhost. Not a general HTTP client: no keep-alive, no redirects, no chunking.
public enum HTTPExchange {
    /// Sends `request` (a complete HTTP/1.0 request) and returns the whole response, status line
    /// and headers included; over TLS with `tls` (the certificate is checked against
    /// `serverHostname`, or the address).
    public static func send(
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
