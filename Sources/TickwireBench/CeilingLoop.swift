import CTickwireSocket
import Dispatch
import Foundation
import NIOConcurrencyHelpers
import TickwireCrypto
import TickwireProtocol
import TickwireServer
import TickwireTransport

/// Phase 1 of the capacity benchmark: what a perfect relay must do and nothing else.
///
/// One server thread, pinned to the relay's core, owns one UDP socket. Every tick it seals one
/// payload packet per client with netcode's own packet codec (ChaCha20-Poly1305, its header,
/// nonce and associated data) and sends them with sendmmsg in batches of 64; between ticks it waits on the
/// socket and reads with recvmmsg, finds the sender by address and opens each datagram. A load
/// thread on another core plays the clients: one socket each, all in one epoll set it waits in
/// (as real clients wait), sending sealed states at the state rate and draining what arrives. The server thread's CPU time is the ceiling.
public enum CeilingLoop {
    public struct Configuration: Sendable {
        public var clients: Int
        public var tickRate: Int
        public var stateRate: Double
        /// Plaintext bytes per outbound datagram (what the relay's snapshots average).
        public var outboundPayloadBytes: Int
        /// Plaintext bytes per inbound datagram (what the relay's clients send).
        public var inboundPayloadBytes: Int
        public var seconds: Double
        public var serverCore: Int?
        /// SCHED_FIFO priority of the server thread; nil: the ordinary scheduler.
        public var realtimePriority: Int? = nil
        public var loadCore: Int?
    }

    public struct Result: Sendable {
        public var cpu: Duration
        public var seconds: Double
        public var datagramsSent: UInt64
        public var datagramsReceived: UInt64
        public var openFailures: UInt64
        public var sendErrors: UInt64
        /// Each tick's seal-and-send time.
        public var tickSend: DurationHistogram
        /// Each tick's thread CPU time (its wall time less preemption).
        public var tickCPU: DurationHistogram
        /// The server thread's time runnable but kept off its core (nil where the kernel keeps no such figures).
        public var waits: SchedulerWaits?
        public var pinned: Bool
    }

    /// netcode's bytes around a payload at the sequences a benchmark reaches (prefix, a 2-byte sequence, MAC).
    static let overheadBytes = NetcodePacketCodec.headerLength(sequence: 0x100) + Netcode.macBytes
    static let protocolID: UInt64 = 0x6265_6e63_6869_6e67
    static let slotBytes = 1500
    static let batch = 64

    public static func run(_ configuration: Configuration) throws -> Result {
        let n = configuration.clients
        let loopback = UInt32(0x7F00_0001).bigEndian
        let server = tickwire_udp_socket(loopback, 0, 4 * 1024 * 1024)
        guard server >= 0 else { throw BenchError("cannot open the ceiling's server socket: errno \(-server)") }
        defer { close(server) }
        let serverPort = tickwire_udp_port(server)
        var clientSockets: [Int32] = []
        defer { for fd in clientSockets { close(fd) } }
        for _ in 0..<n {
            let fd = tickwire_udp_socket(loopback, 0, 0)
            guard fd >= 0 else { throw BenchError("cannot open client socket \(clientSockets.count + 1) of \(n): errno \(-fd) (raise `ulimit -n`?)") }
            clientSockets.append(fd)
        }
        let clientPorts = clientSockets.map { tickwire_udp_port($0) }
        // Keys: client i sends with inbound key i, the server with outbound key i.
        let inboundKeys = (0..<n).map { _ in SecureRandom.bytes(AEAD.keyBytes) }
        let outboundKeys = (0..<n).map { _ in SecureRandom.bytes(AEAD.keyBytes) }

        let started = DispatchTime.now().uptimeNanoseconds
        let end = started + UInt64(configuration.seconds * 1e9)
        let result = NIOLockedValueBox<Swift.Result<Result, BenchError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let sockets = clientSockets
        let serverThread = Thread {
            let pinned = configuration.serverCore.map { ThreadResources.pin(toCore: $0) } ?? false
            if let priority = configuration.realtimePriority {
                do throws(RealtimePriorityError) { try ThreadResources.useRealtimePriority(priority) } catch {
                    result.withLockedValue { $0 = .failure(BenchError("--realtime-priority \(priority): \(error)")) }
                    done.signal()
                    return
                }
            }
            let measured = serve(server, configuration: configuration, clientPorts: clientPorts, inboundKeys: inboundKeys,
                                 outboundKeys: outboundKeys, end: end, pinned: pinned)
            result.withLockedValue { $0 = .success(measured) }
            done.signal()
        }
        let loadThread = Thread {
            if let core = configuration.loadCore { ThreadResources.pin(toCore: core) }
            playClients(sockets, serverPort: serverPort, configuration: configuration, keys: inboundKeys, end: end + 200_000_000)
            done.signal()
        }
        serverThread.start()
        loadThread.start()
        done.wait()
        done.wait()
        guard let measured = result.withLockedValue({ $0 }) else { throw BenchError("the ceiling's server thread gave no result") }
        return try measured.get()
    }

    /// The server thread: ticks, seals, sends; reads and opens in between.
    private static func serve(
        _ fd: Int32, configuration: Configuration, clientPorts: [UInt16], inboundKeys: [[UInt8]], outboundKeys: [[UInt8]],
        end: UInt64, pinned: Bool
    ) -> Result {
        let n = clientPorts.count
        let loopback = UInt32(0x7F00_0001).bigEndian
        var clientByPort = [UInt16: Int](minimumCapacity: n)
        for (index, port) in clientPorts.enumerated() { clientByPort[port] = index }
        let outbound = UnsafeMutableRawBufferPointer.allocate(byteCount: n * slotBytes, alignment: 16)
        let inbound = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * 2048, alignment: 16)
        let keys = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * n * AEAD.keyBytes, alignment: 16)
        defer { outbound.deallocate(); inbound.deallocate(); keys.deallocate() }
        for i in 0..<n {
            keys.baseAddress!.advanced(by: i * 32).copyMemory(from: outboundKeys[i], byteCount: 32)
            keys.baseAddress!.advanced(by: (n + i) * 32).copyMemory(from: inboundKeys[i], byteCount: 32)
        }
        var outDatagrams = [tickwire_datagram](repeating: tickwire_datagram(), count: n)
        var inDatagrams = [tickwire_datagram](repeating: tickwire_datagram(), count: batch)
        var outSequence = [UInt64](repeating: 0, count: n)
        let sendBatch = tickwire_batch_create(Int32(batch))
        let receiveBatch = tickwire_batch_create(Int32(batch))
        defer { tickwire_batch_free(sendBatch); tickwire_batch_free(receiveBatch) }
        // Read as the relay's DatagramLoop reads: into slots prepared once.
        _ = tickwire_batch_prepare_receive(receiveBatch, inbound.baseAddress!.assumingMemoryBound(to: UInt8.self), 2048, 2048, Int32(batch))
        let payload = configuration.outboundPayloadBytes
        var tickSend = DurationHistogram()
        var tickCPU = DurationHistogram()
        var sent: UInt64 = 0, received: UInt64 = 0, failures: UInt64 = 0, sendErrors: UInt64 = 0
        let period = UInt64(1e9 / Double(configuration.tickRate))
        var nextTick = DispatchTime.now().uptimeNanoseconds + period

        func receiveAll() {
            while true {
                let count = Int(tickwire_recvmmsg_prepared(fd, receiveBatch, &inDatagrams))
                guard count > 0 else { return }
                for i in 0..<count {
                    let length = Int(inDatagrams[i].length)
                    let packet = UnsafeMutableRawBufferPointer(start: inDatagrams[i].bytes, count: length)
                    guard let client = clientByPort[inDatagrams[i].port],
                          case .success(let header) = NetcodePacketCodec.parseHeader(UnsafeRawBufferPointer(packet))
                    else {
                        failures += 1
                        continue
                    }
                    let opened = NetcodePacketCodec.open(
                        packet, header: header, protocolID: protocolID,
                        key: UnsafeRawBufferPointer(rebasing: keys[(n + client) * 32..<(n + client + 1) * 32]))
                    if opened == nil { failures += 1 } else { received += 1 }
                }
                if count < batch { return }
            }
        }

        let waitsStart = ThreadResources.schedulerWaits()
        let cpuStart = ThreadResources.cpuTime()
        let wallStart = DispatchTime.now().uptimeNanoseconds
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= end { break }
            receiveAll()
            if now >= nextTick {
                let tickStart = DispatchTime.now().uptimeNanoseconds
                let tickStartCPU = ThreadResources.cpuTime()
                for i in 0..<n {
                    let slot = outbound.baseAddress! + i * slotBytes
                    outSequence[i] &+= 1
                    // The payload: what a snapshot writer would have put there (content does not matter to AEAD cost).
                    let header = NetcodePacketCodec.headerLength(sequence: outSequence[i])
                    (slot + header).initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: i), count: payload)
                    let sealed = NetcodePacketCodec.seal(
                        type: .payload, sequence: outSequence[i], plaintextLength: payload, protocolID: protocolID,
                        key: UnsafeRawBufferPointer(rebasing: keys[i * 32..<(i + 1) * 32]),
                        buffer: UnsafeMutableRawBufferPointer(start: slot, count: slotBytes)) ?? 0
                    outDatagrams[i] = tickwire_datagram(bytes: slot, length: UInt32(sealed), family: 4,
                                                        address: loopback, address6: (0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0), port: clientPorts[i])
                }
                var offset = 0
                while offset < n {
                    let count = outDatagrams.withUnsafeMutableBufferPointer { all in
                        Int(tickwire_sendmmsg(fd, sendBatch, all.baseAddress! + offset, Int32(min(batch, n - offset)), 0))
                    }
                    if count > 0 {
                        offset += count
                        sent += UInt64(count)
                    } else if count == 0 {
                        _ = tickwire_wait_writable(fd, 5_000_000)
                    } else {
                        sendErrors += 1
                        offset += 1
                    }
                }
                tickSend.record(.nanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - tickStart)))
                tickCPU.record(ThreadResources.cpuTime() - tickStartCPU)
                nextTick += period
                let after = DispatchTime.now().uptimeNanoseconds
                while nextTick <= after { nextTick += period }
            } else {
                _ = tickwire_wait_readable(fd, Int64(min(nextTick, end) - now))
            }
        }
        let cpu = ThreadResources.cpuTime() - cpuStart
        let waits = ThreadResources.schedulerWaits().flatMap { end in waitsStart.map { end - $0 } }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        return Result(cpu: cpu, seconds: wall, datagramsSent: sent, datagramsReceived: received, openFailures: failures,
                      sendErrors: sendErrors, tickSend: tickSend, tickCPU: tickCPU, waits: waits, pinned: pinned)
    }

    /// The load thread: each client sends a sealed state at the state rate (spread evenly), and
    /// waits on its socket as a real client (and the swarm) does: every client socket is in one
    /// epoll set, and the thread sleeps in it until a datagram arrives or a send is due, then
    /// drains the sockets that are readable. So the server's sends pay what sends to waiting
    /// receivers cost in the kernel (queueing the receiver's wake-up), as the relay's do in phase 2.
    private static func playClients(_ sockets: [Int32], serverPort: UInt16, configuration: Configuration, keys: [[UInt8]], end: UInt64) {
        let n = sockets.count
        let loopback = UInt32(0x7F00_0001).bigEndian
        let period = UInt64(1e9 / configuration.stateRate)
        let start = DispatchTime.now().uptimeNanoseconds
        var next = (0..<n).map { start + UInt64($0) * period / UInt64(max(1, n)) }
        var sequence = [UInt64](repeating: 0, count: n)
        let payload = configuration.inboundPayloadBytes
        var packet = [UInt8](repeating: 0, count: 16 + payload + Netcode.macBytes)
        let drain = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * 2048, alignment: 16)
        defer { drain.deallocate() }
        var drainDatagrams = [tickwire_datagram](repeating: tickwire_datagram(), count: batch)
        let batchScratch = tickwire_batch_create(Int32(batch))
        defer { tickwire_batch_free(batchScratch) }
        guard let poller = tickwire_poller_create() else { return }
        defer { tickwire_poller_free(poller) }
        for (i, fd) in sockets.enumerated() { _ = tickwire_poller_add(poller, fd, UInt64(i)) }
        var ready = [UInt64](repeating: 0, count: 64)
        func drainSocket(_ i: Int) {
            while true {
                for j in 0..<batch {
                    drainDatagrams[j].bytes = drain.baseAddress! + j * 2048
                    drainDatagrams[j].length = 2048
                }
                if tickwire_recvmmsg(sockets[i], batchScratch, &drainDatagrams, Int32(batch)) < Int32(batch) { break }
            }
        }
        while DispatchTime.now().uptimeNanoseconds < end {
            let now = DispatchTime.now().uptimeNanoseconds
            var earliest = end
            for i in 0..<n {
                if next[i] <= now {
                    next[i] += period
                    sequence[i] &+= 1
                    packet.withUnsafeMutableBytes { raw in
                        let header = NetcodePacketCodec.headerLength(sequence: sequence[i])
                        for j in header..<(header + payload) { raw[j] = UInt8(truncatingIfNeeded: j) }
                        let sealed = keys[i].withUnsafeBytes { key in
                            NetcodePacketCodec.seal(type: .payload, sequence: sequence[i], plaintextLength: payload,
                                                    protocolID: protocolID, key: key, buffer: raw) ?? 0
                        }
                        var datagram = tickwire_datagram(bytes: raw.baseAddress, length: UInt32(sealed), family: 4, address: loopback, address6: (0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0), port: serverPort)
                        _ = tickwire_sendmmsg(sockets[i], batchScratch, &datagram, 1, 0)
                    }
                }
                earliest = min(earliest, next[i])
            }
            // The poller's deadline is on its own clock (CLOCK_MONOTONIC): the same instant there.
            let wait = earliest > now ? earliest - now : 0
            let deadline = tickwire_monotonic_ns() + wait
            let count = ready.withUnsafeMutableBufferPointer {
                Int(tickwire_poller_wait(poller, deadline, $0.baseAddress, Int32($0.count)))
            }
            for k in 0..<max(0, count) { drainSocket(Int(ready[k])) }
        }
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
