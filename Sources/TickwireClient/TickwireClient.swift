import NIOConcurrencyHelpers
import NIOCore
import TickwireProtocol
import TickwireRelay
import TickwireTransport

// The snapshot and interpolation values the API returns, usable with `import TickwireClient` alone.
@_exported import struct TickwireRelay.RoomSnapshot
@_exported import struct TickwireRelay.RoomEntity
@_exported import struct TickwireRelay.InterpolationBuffer

/// A game client's connection to a Tickwire relay.
///
/// ```swift
/// let client = try await TickwireClient.connect(token: tokenBytes)   // seated in its room
/// try await client.sendEvent(Array("hello".utf8))          // reliable, to the whole room
/// try await client.sendState(myPosition)                    // unreliable; the server keeps the newest
/// for await event in client.events { … }                    // joins, leaves, events, then .disconnected
/// if let view = await client.interpolate() { … }            // each frame: two snapshots and a blend
/// ```
/// A state or event goes out at once, or within `updateInterval` (10 ms) of the last packet.
/// Every method may be called from any task; the connection itself lives on one `DatagramLoop`
/// thread (by default one shared by the process's clients).
/// README's "A game loop" shows a frame loop that never waits on the event stream.
public final class TickwireClient: Sendable {
    /// Joins, leaves, events and refusals, in order; `.disconnected(reason)` is the last one.
    /// The stream buffers without bound: read it (a task of its own suits) or events pile up.
    public let events: AsyncStream<TickwireClientEvent>
    private let socket: UDPSocket
    private let driver: NIOLoopBound<ClientDriver>
    private var loop: DatagramLoop { socket.loop }

    private init(socket: UDPSocket, driver: NIOLoopBound<ClientDriver>, events: AsyncStream<TickwireClientEvent>,
                 welcome: TickwireWelcome) {
        self.welcome = welcome
        self.socket = socket
        self.driver = driver
        self.events = events
    }

    /// What the relay said on seating this client: its entity id, tick rate and limits.
    public let welcome: TickwireWelcome

    public enum ConnectionState: Equatable, Sendable {
        case connecting, connected
        case disconnected(TickwireClientEvent.DisconnectReason)
    }

    /// Connects with a 2048-byte connect token; returns once the relay has seated the client in
    /// its room. Throws `TickwireClientError`: `.connectFailed` when the connection could not be
    /// made (with the reason), `.denied` when the relay would not seat it, `.timedOut` after
    /// `timeout`, and `CancellationError` when the calling task is cancelled (the attempt is
    /// abandoned either way, its socket closed). `loop`: the thread to run on (default: one the
    /// process's clients share, started on first use).
    public static func connect(
        token bytes: [UInt8], timeout: Duration = .seconds(10), loop: DatagramLoop? = nil,
        updateInterval: Duration = .milliseconds(10)
    ) async throws -> TickwireClient {
        let token: ConnectToken
        do { token = try ConnectToken.decode(bytes) } catch { throw TickwireClientError.invalidToken(error.description) }
        try Task.checkCancellation()
        let loop = try loop ?? SharedClientLoop.get()
        let clock = MonotonicClock()
        // Unbounded: reliable events must never be dropped here; the app drains the stream.
        let (events, continuation) = AsyncStream<TickwireClientEvent>.makeStream(bufferingPolicy: .unbounded)
        let needsIPv6 = token.serverAddresses.contains { $0.family == .ipv6 }
        let (driver, socket) = try await loop.submit {
            let driver = try ClientDriver(clock: clock, events: continuation, updateInterval: updateInterval)
            let socket = try loop.bind(host: needsIPv6 ? "::" : "0.0.0.0", port: 0, endpoint: driver)
            return (NIOLoopBound(driver, eventLoop: loop), socket)
        }.get()
        let welcome: RelayMessage.Welcome
        do {
            welcome = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<RelayMessage.Welcome, any Error>) in
                    loop.execute {
                        driver.value.writer = DatagramBatchWriter(socket: socket, mapIPv4ToIPv6: needsIPv6)
                        driver.value.connectWaiter = waiter
                        driver.value.start(token: token, on: loop, timeout: timeout)
                    }
                }
            } onCancel: {
                loop.execute { driver.value.abandonConnect(with: CancellationError()) }
            }
        } catch {
            await socket.close()
            throw error
        }
        return TickwireClient(socket: socket, driver: driver, events: events, welcome: TickwireWelcome(welcome))
    }

    /// Sends an event reliably to every other client in the room: delivered exactly once, in
    /// order. Throws `TickwireClientError.send` if it is too large or the send queue is full.
    public func sendEvent(_ payload: [UInt8]) async throws {
        try await loop.submit { try Self.mapped { () throws(RelayClientError) in try self.driver.value.core.sendEvent(payload); self.driver.value.queued() } }.get()
    }

    /// Sends an event reliably to one client of the room, by its client id.
    public func sendEvent(_ payload: [UInt8], to clientID: UInt64) async throws {
        try await loop.submit { try Self.mapped { () throws(RelayClientError) in try self.driver.value.core.sendEvent(payload, to: clientID); self.driver.value.queued() } }.get()
    }

    /// Sends this client's entity state (at most `welcome.maxStateSize` bytes) unreliably: sent
    /// once on the next update, never resent; the server keeps the newest and puts it in every
    /// other client's snapshots.
    public func sendState(_ payload: [UInt8]) async throws {
        try await loop.submit { try Self.mapped { () throws(RelayClientError) in try self.driver.value.core.sendState(payload); self.driver.value.queued() } }.get()
    }

    /// The newest snapshot of the room (every other client's entity state), if any arrived.
    public func latestSnapshot() async -> RoomSnapshot? {
        try? await loop.submit { self.driver.value.core.latestSnapshot }.get()
    }

    /// What to render now: the two snapshots around (estimated server time − delay) and the blend
    /// factor, or the one it had to extrapolate from or hold (see `InterpolationBuffer`).
    public func interpolate() async -> InterpolationBuffer.Sample? {
        try? await loop.submit { self.driver.value.interpolate() }.get()
    }

    private static func mapped(_ body: () throws(RelayClientError) -> Void) throws(TickwireClientError) {
        do { try body() } catch { throw TickwireClientError.mapping(error) }
    }

    public func stats() async throws -> TickwireClientStats {
        try await loop.submit { self.driver.value.stats() }.get()
    }

    public func state() async -> ConnectionState {
        (try? await loop.submit { self.driver.value.connectionState }.get()) ?? .disconnected(.byClient)
    }

    /// Sends 10 disconnect packets if connected, then closes the socket.
    public func disconnect() async {
        try? await loop.submit { self.driver.value.disconnect() }.get()
        await socket.close()
    }
}

/// The loop clients share unless given one: started on first use, it lives as long as the process.
enum SharedClientLoop {
    private static let shared = NIOLockedValueBox<DatagramLoop?>(nil)

    static func get() throws -> DatagramLoop {
        try shared.withLockedValue { loop in
            if let loop { return loop }
            let made = try DatagramLoop(name: "tickwire-client")
            loop = made
            return made
        }
    }
}
