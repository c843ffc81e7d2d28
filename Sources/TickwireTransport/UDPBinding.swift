import NIOCore
import NIOPosix
import TickwireProtocol

/// Binds UDP channels with the options a relay wants: vector reads (recvmmsg), a receive
/// allocator sized for them, and 4 MiB socket buffers like netcode's.
public enum UDPBinding {
    public static let vectorReadCount = 64

    /// Binds `host:port` on `eventLoop` with `handler` as the only inbound handler.
    /// `handler` must have been created on `eventLoop`.
    ///
    /// SO_REUSEADDR is set only for a fixed port (a server restarting): on Linux, sockets that
    /// set it and bind port 0 can be given the same ephemeral port, and two clients would then
    /// share one address.
    public static func bind(
        host: String, port: Int, on eventLoop: any EventLoop, handler: NIOLoopBound<DatagramEndpointHandler>
    ) async throws -> any Channel {
        try await DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: port == 0 ? 0 : 1)
            .channelOption(.datagramVectorReadMessageCount, value: vectorReadCount)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: vectorReadCount * 2048))
            .channelOption(.socketOption(.so_rcvbuf), value: 4 * 1024 * 1024)
            .channelOption(.socketOption(.so_sndbuf), value: 4 * 1024 * 1024)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}
