import CTickwireSocket
import NIOCore
import TickwireProtocol

/// What a sans-IO machine's driver implements to be read by a `DatagramLoop`.
/// All calls happen on its `DatagramLoop`'s thread.
public protocol DatagramEndpoint: AnyObject {
    /// One datagram; the bytes are valid only during the call.
    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress)
    /// The end of a batch of reads (up to four recvmmsg calls): a good moment to flush replies.
    func readBatchComplete()
    /// A hint that a datagram from `address` is coming: the sources of a batch's datagrams are
    /// named in order, the second before the first is received and each later one two datagrams
    /// ahead, so the endpoint can start fetching that source's state (cold in cache when it serves
    /// hundreds) and finish fetching the previous one's. By default nothing.
    func willReceive(from address: NetcodeAddress)
    /// A hint that this endpoint's socket is read next: a loop that serves many sockets names the
    /// next ready one while it reads the current one, so an endpoint with state of its own (a
    /// swarm's bot, cold in cache among hundreds) can start fetching it. By default nothing.
    func willRead()
}

extension DatagramEndpoint {
    public func willReceive(from address: NetcodeAddress) {}
    public func willRead() {}
}

/// The message headers one sendmmsg call takes, and what they point to. Writers on one loop may
/// share one (a swarm's hundreds of bot sockets, written one at a time): about 10 KB a writer
/// otherwise, cold in cache at each bot's send.
public final class DatagramSendBatch {
    fileprivate var datagrams: [tickwire_datagram]
    fileprivate let batch: OpaquePointer

    public init() {
        datagrams = Array(repeating: tickwire_datagram(), count: DatagramBatchWriter.batchSize)
        guard let batch = tickwire_batch_create(Int32(DatagramBatchWriter.batchSize)) else { fatalError("out of memory for a send batch") }
        self.batch = batch
    }

    deinit { tickwire_batch_free(batch) }
}

/// Writes an `OutboundQueue` straight from its arena to the socket with sendmmsg, 64 datagrams a
/// call: no copy, no per-datagram allocation, no trip through the channel pipeline. Only for the
/// socket's event loop. A datagram the kernel has no room for (the 4 MiB send buffer is full) is
/// dropped and counted, as a router would drop it; nothing blocks the loop.
public final class DatagramBatchWriter {
    public let socket: UDPSocket
    /// Sends IPv4 destinations as IPv4-mapped IPv6 (for sockets bound to `[::]`).
    public let mapIPv4ToIPv6: Bool
    public private(set) var datagramsWritten: UInt64 = 0
    public private(set) var bytesWritten: UInt64 = 0
    /// Datagrams not sent: the socket's send buffer was full, the socket was closed, or the kernel refused them.
    public private(set) var datagramsDropped: UInt64 = 0
    /// Datagrams a sendmmsg call takes.
    public static let batchSize = 64
    private let scratch: DatagramSendBatch

    /// `batch`: the headers to send through, shared with other writers used on the same thread
    /// only (by default, a set of its own).
    public init(socket: UDPSocket, mapIPv4ToIPv6: Bool = false, batch: DatagramSendBatch = DatagramSendBatch()) {
        self.socket = socket
        self.mapIPv4ToIPv6 = mapIPv4ToIPv6
        scratch = batch
    }

    public func write(_ queue: inout OutboundQueue) {
        guard !queue.isEmpty else { return }
        defer { queue.removeAll() }
        guard socket.isOpen else {
            datagramsDropped &+= UInt64(queue.count)
            return
        }
        queue.withRecords { records, arena in
            var index = 0
            while index < records.count {
                let count = min(Self.batchSize, records.count - index)
                for k in 0..<count {
                    let record = records[index + k]
                    scratch.datagrams[k].bytes = UnsafeMutableRawPointer(mutating: arena.baseAddress! + record.offset)
                    scratch.datagrams[k].length = UInt32(record.length)
                    Self.setDestination(&scratch.datagrams[k], record.address)
                }
                let sent = Int(tickwire_sendmmsg(socket.descriptor, scratch.batch, &scratch.datagrams, Int32(count), mapIPv4ToIPv6 ? 1 : 0))
                if sent > 0 {
                    for k in 0..<sent { bytesWritten &+= UInt64(scratch.datagrams[k].length) }
                    datagramsWritten &+= UInt64(sent)
                    index += sent
                } else if sent == 0 {
                    datagramsDropped &+= UInt64(records.count - index)
                    return
                } else {
                    // The first datagram of the batch was refused (e.g. an unreachable address): skip it.
                    datagramsDropped &+= 1
                    index += 1
                }
            }
        }
    }

    private static func setDestination(_ datagram: inout tickwire_datagram, _ address: NetcodeAddress) {
        tickwire_datagram_set_destination(&datagram, address.family == .ipv4 ? 4 : 6, address.high, address.low, address.port)
    }
}
