import NIOCore
import TickwireProtocol

/// What a sans-IO machine's driver implements to sit behind `DatagramEndpointHandler`.
/// All calls happen on the channel's event loop.
public protocol DatagramEndpoint: AnyObject {
    /// One datagram; the bytes are valid only during the call.
    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress)
    /// The end of a batch of reads (one recvmmsg): a good moment to flush replies.
    func readBatchComplete()
}

/// The inbound handler of a UDP channel: hands each datagram to the endpoint without copying and
/// counts datagrams the endpoint cannot take (non-IP sources).
public final class DatagramEndpointHandler: ChannelInboundHandler {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let endpoint: any DatagramEndpoint
    public private(set) var unreadableSources: UInt64 = 0

    public init(endpoint: any DatagramEndpoint) { self.endpoint = endpoint }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let address = NetcodeAddress(envelope.remoteAddress) else {
            unreadableSources &+= 1
            return
        }
        envelope.data.withUnsafeReadableBytes { endpoint.receive($0, from: address) }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        endpoint.readBatchComplete()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port-unreachable and similar surface here as errors on a UDP socket; they must not
        // close the channel, the protocol's timeouts handle unreachable peers.
    }
}

/// Writes an `OutboundQueue` to a channel as one batch: one buffer allocation for the whole batch,
/// one write per datagram (slices of that buffer) and a single flush, which NIO turns into sendmmsg.
public struct DatagramBatchWriter {
    public let channel: any Channel
    /// Sends IPv4 destinations as IPv4-mapped IPv6 (for sockets bound to `[::]`).
    public let mapIPv4ToIPv6: Bool
    private var cache: [NetcodeAddress: SocketAddress] = [:]
    public private(set) var datagramsWritten: UInt64 = 0
    public private(set) var bytesWritten: UInt64 = 0

    public init(channel: any Channel, mapIPv4ToIPv6: Bool = false) {
        self.channel = channel
        self.mapIPv4ToIPv6 = mapIPv4ToIPv6
    }

    private mutating func socketAddress(_ address: NetcodeAddress) -> SocketAddress {
        if let cached = cache[address] { return cached }
        if cache.count >= 16_384 { cache.removeAll(keepingCapacity: true) }
        let made = (mapIPv4ToIPv6 && address.family == .ipv4) ? SocketAddress.v4MappedV6(address) : SocketAddress(address)
        cache[address] = made
        return made
    }

    public mutating func write(_ queue: inout OutboundQueue) {
        guard !queue.isEmpty else { return }
        var total = 0
        for record in queue.records { total += record.length }
        var buffer = channel.allocator.buffer(capacity: total)
        queue.forEach { _, bytes in buffer.writeBytes(bytes) }
        var offset = 0
        for record in queue.records {
            let slice = buffer.getSlice(at: offset, length: record.length)!
            offset += record.length
            let envelope = AddressedEnvelope(remoteAddress: socketAddress(record.address), data: slice)
            channel.write(envelope, promise: nil)
        }
        datagramsWritten &+= UInt64(queue.count)
        bytesWritten &+= UInt64(total)
        channel.flush()
        queue.removeAll()
    }
}
