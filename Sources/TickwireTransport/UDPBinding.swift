import CTickwireSocket
import NIOCore
import NIOPosix
import TickwireProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bound UDP socket: NIO reads it (the channel), `DatagramBatchWriter` writes it directly.
public struct UDPSocket: Sendable {
    public let channel: any Channel
    /// The socket's descriptor, owned by `channel`: valid while the channel is active.
    public let descriptor: Int32
}

/// Binds UDP sockets with the options a relay wants: vector reads (recvmmsg), a receive
/// allocator sized for them, and 4 MiB socket buffers like netcode's.
public enum UDPBinding {
    public static let vectorReadCount = 64
    public static let bufferBytes = 4 * 1024 * 1024

    /// Binds `host:port` on `eventLoop` with `handler` as the only inbound handler.
    /// `handler` must have been created on `eventLoop`. `host` is a numeric address; an IPv6
    /// address (such as `::`) also takes IPv4.
    ///
    /// SO_REUSEADDR is set only for a fixed port (a server restarting): on Linux, sockets that
    /// set it and bind port 0 can be given the same ephemeral port, and two clients would then
    /// share one address.
    public static func bind(
        host: String, port: Int, on eventLoop: any EventLoop, handler: NIOLoopBound<DatagramEndpointHandler>
    ) async throws -> UDPSocket {
        guard (0...65535).contains(port) else { throw IOError(errnoCode: EINVAL, reason: "bind: port \(port) is not 0...65535") }
        let descriptor = tickwire_udp_bind(host, UInt16(port), Int32(bufferBytes), port == 0 ? 0 : 1)
        guard descriptor >= 0 else { throw IOError(errnoCode: -descriptor, reason: "bind(\(host):\(port))") }
        do {
            let channel = try await DatagramBootstrap(group: eventLoop)
                .channelOption(.datagramVectorReadMessageCount, value: vectorReadCount)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: vectorReadCount * 2048))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(handler.value)
                    }
                }
                .withBoundSocket(descriptor)
                .get()
            return UDPSocket(channel: channel, descriptor: descriptor)
        } catch {
            close(descriptor)
            throw error
        }
    }
}
