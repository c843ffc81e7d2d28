import CTickwire
import CTickwireSocket
import Synchronization
import TickwireProtocol
import TickwireRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One C client: the Swift client core, its UDP socket, and the events the engine has not read.
/// `poll` is the whole I/O shell: read what waits, update when due, write what is queued.
final class ClientHandle {
    var core: RelayClientCore
    private var socket: Int32 = -1
    private var batch: OpaquePointer?
    private var mapsIPv4ToIPv6 = false
    private var lastUpdate: TickwireInstant?
    /// Events not yet read by the engine, oldest at `eventHead`.
    var pending: [RelayClientCore.Event] = []
    var eventHead = 0
    var connecting = false

    static let batchSize: Int32 = 32
    static let updateInterval: Duration = .milliseconds(10)
    static let datagramCapacity = 1500
    /// One receive buffer per datagram of a batch, in one allocation that lives as long as the
    /// handle (recvmmsg writes into it; the core reads each datagram in place).
    private let receiveArea = UnsafeMutableRawPointer.allocate(byteCount: Int(batchSize) * datagramCapacity, alignment: 16)
    private var datagrams = [tickwire_datagram](repeating: tickwire_datagram(), count: Int(batchSize))

    init() throws {
        core = try RelayClientCore()
    }

    deinit {
        receiveArea.deallocate()
        if socket >= 0 { close(socket) }
        if let batch { tickwire_batch_free(batch) }
    }

    func connect(token: ConnectToken, now: TickwireInstant) -> Int32 {
        mapsIPv4ToIPv6 = token.serverAddresses.contains { $0.family == .ipv6 }
        let fd = tickwire_udp_bind(mapsIPv4ToIPv6 ? "::" : "0.0.0.0", 0, 0, 0)
        guard fd >= 0, let batch = tickwire_batch_create(Self.batchSize) else {
            if fd >= 0 { close(fd) }
            return TICKWIRE_ERROR_SOCKET.rawValue
        }
        socket = fd
        self.batch = batch
        connecting = true
        core.connect(token: token, now: now)
        takeEvents()
        return poll(now: now)
    }

    /// Reads, updates when due, writes. Returns the state.
    func poll(now: TickwireInstant) -> Int32 {
        guard socket >= 0, let batch else { return state }
        // Read until the socket would block (bounded: a flood cannot hold the caller here).
        for _ in 0..<64 {
            for i in 0..<Int(Self.batchSize) {
                datagrams[i].bytes = receiveArea + i * Self.datagramCapacity
                datagrams[i].length = UInt32(Self.datagramCapacity)
            }
            let count = tickwire_recvmmsg(socket, batch, &datagrams, Self.batchSize)
            guard count > 0 else { break }
            for i in 0..<Int(count) {
                let datagram = datagrams[i]
                guard let from = Self.address(of: datagram) else { continue }
                let length = min(Int(datagram.length), Self.datagramCapacity)
                core.receive(UnsafeRawBufferPointer(start: receiveArea + i * Self.datagramCapacity, count: length), from: from, now: now)
            }
            if count < Self.batchSize { break }
        }
        if let wake = core.hostWake(lastUpdate: lastUpdate ?? .zero, minimumInterval: Self.updateInterval),
           now >= wake || lastUpdate == nil {
            lastUpdate = now
            core.update(now: now)
        }
        flush()
        takeEvents()
        return state
    }

    /// When `poll` next has work without new input, or nil once the client has ended.
    var nextWake: TickwireInstant? { core.hostWake(lastUpdate: lastUpdate ?? .zero, minimumInterval: Self.updateInterval) }

    func disconnect(now: TickwireInstant) {
        core.disconnect(now: now)
        flush()
        takeEvents()
    }

    var state: Int32 {
        switch core.phase {
        case .idle: Int32(TICKWIRE_STATE_IDLE.rawValue)
        case .connecting: Int32(TICKWIRE_STATE_CONNECTING.rawValue)
        case .joined: Int32(TICKWIRE_STATE_JOINED.rawValue)
        case .denied: Int32(TICKWIRE_STATE_DENIED.rawValue)
        case .ended: Int32(TICKWIRE_STATE_ENDED.rawValue)
        }
    }

    private func takeEvents() {
        guard !core.events.isEmpty else { return }
        if eventHead > 0 && eventHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            eventHead = 0
        }
        pending.append(contentsOf: core.events)
        core.events.removeAll(keepingCapacity: true)
    }

    /// Sends what the core queued, one datagram per call (a client sends a few a frame), from the
    /// core's own buffer.
    private func flush() {
        guard socket >= 0, let batch, !core.outbound.isEmpty else { return }
        let fd = socket
        let mapped: Int32 = mapsIPv4ToIPv6 ? 1 : 0
        core.outbound.forEach { address, bytes in
            var datagram = Self.datagram(to: address, bytes: UnsafeMutableRawBufferPointer(mutating: bytes))
            _ = tickwire_sendmmsg(fd, batch, &datagram, 1, mapped)
        }
        core.outbound.removeAll()
    }

    static func address(of datagram: tickwire_datagram) -> NetcodeAddress? {
        let port = UInt16(bigEndian: datagram.port)
        switch datagram.family {
        case 4:
            let a = UInt32(bigEndian: datagram.address)
            return .ipv4(UInt8(a >> 24), UInt8(truncatingIfNeeded: a >> 16), UInt8(truncatingIfNeeded: a >> 8), UInt8(truncatingIfNeeded: a), port: port)
        case 6:
            var groups = [UInt16](repeating: 0, count: 8)
            withUnsafeBytes(of: datagram.address6) { raw in
                for i in 0..<8 { groups[i] = UInt16(raw[2 * i]) << 8 | UInt16(raw[2 * i + 1]) }
            }
            return .ipv6(groups: groups, port: port)
        default:
            return nil
        }
    }

    static func datagram(to address: NetcodeAddress, bytes: UnsafeMutableRawBufferPointer) -> tickwire_datagram {
        var datagram = tickwire_datagram()
        datagram.bytes = bytes.baseAddress
        datagram.length = UInt32(bytes.count)
        tickwire_datagram_set_destination(&datagram, address.family == .ipv4 ? 4 : 6, address.high, address.low, address.port)
        return datagram
    }
}

/// The live handles: every entry point looks its handle up here first, so a stale or stray
/// pointer is an error code, not a crash.
enum Handles {
    private static let live = Mutex<Set<UInt>>([])

    static func register(_ handle: ClientHandle) -> OpaquePointer {
        let pointer = Unmanaged.passRetained(handle).toOpaque()
        _ = live.withLock { $0.insert(UInt(bitPattern: pointer)) }
        return OpaquePointer(pointer)
    }

    static func find(_ pointer: OpaquePointer?) -> ClientHandle? {
        guard let pointer else { return nil }
        let raw = UnsafeRawPointer(pointer)
        // (Freeing a handle while another thread uses it is the caller's race, as in any C API.)
        guard live.withLock({ $0.contains(UInt(bitPattern: raw)) }) else { return nil }
        return Unmanaged<ClientHandle>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Removes the handle; true when it was live (its last reference is released).
    static func release(_ pointer: OpaquePointer?) -> Bool {
        guard let pointer else { return false }
        let raw = UnsafeRawPointer(pointer)
        let removed = live.withLock { $0.remove(UInt(bitPattern: raw)) != nil }
        if removed { Unmanaged<ClientHandle>.fromOpaque(raw).release() }
        return removed
    }
}
