import NIOCore
import NIOPosix
import TickwireProtocol
import TickwireTransport

/// A game client's connection to a Tickwire relay (or any netcode 1.02 server).
///
/// ```swift
/// let client = try await TickwireClient.connect(token: tokenBytes)
/// try await client.send(Array("hello".utf8))
/// for await payload in client.payloads { … }
/// ```
/// Every method may be called from any task; the connection itself lives on one event loop.
public final class TickwireClient: Sendable {
    public let payloads: AsyncStream<[UInt8]>
    private let channel: any Channel
    private let driver: NIOLoopBound<ClientDriver>

    private init(channel: any Channel, driver: NIOLoopBound<ClientDriver>, payloads: AsyncStream<[UInt8]>) {
        self.channel = channel
        self.driver = driver
        self.payloads = payloads
    }

    /// Connects with a 2048-byte connect token; returns once connected, throws
    /// `TickwireClientError.connectFailed(state)` with the reason otherwise.
    public static func connect(
        token bytes: [UInt8], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        updateInterval: Duration = .milliseconds(10)
    ) async throws -> TickwireClient {
        let token: ConnectToken
        do { token = try ConnectToken.decode(bytes) } catch { throw TickwireClientError.invalidToken(error.description) }
        let loop = group.next()
        let clock = MonotonicClock()
        let (payloads, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let (driver, handler) = try await loop.submit {
            let driver = ClientDriver(clock: clock, payloads: continuation, updateInterval: updateInterval)
            return (NIOLoopBound(driver, eventLoop: loop), NIOLoopBound(DatagramEndpointHandler(endpoint: driver), eventLoop: loop))
        }.get()
        let needsIPv6 = token.serverAddresses.contains { $0.family == .ipv6 }
        let channel = try await UDPBinding.bind(host: needsIPv6 ? "::" : "0.0.0.0", port: 0, on: loop, handler: handler)
        let client = TickwireClient(channel: channel, driver: driver, payloads: payloads)
        do {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                loop.execute {
                    driver.value.writer = DatagramBatchWriter(channel: channel, mapIPv4ToIPv6: needsIPv6)
                    driver.value.connectWaiter = waiter
                    driver.value.start(token: token, on: loop)
                }
            }
        } catch {
            try? await channel.close()
            throw error
        }
        return client
    }

    /// Sends one payload (1...1200 bytes) to the server.
    public func send(_ payload: [UInt8]) async throws {
        try await channel.eventLoop.submit { try self.driver.value.send(payload) }.get()
    }

    public func stats() async throws -> TickwireClientStats {
        try await channel.eventLoop.submit { self.driver.value.stats() }.get()
    }

    public func state() async throws -> NetcodeClientState { try await stats().state }

    /// Sends 10 disconnect packets if connected, then closes the socket.
    public func disconnect() async {
        try? await channel.eventLoop.submit { self.driver.value.disconnect() }.get()
        try? await channel.close()
    }
}
