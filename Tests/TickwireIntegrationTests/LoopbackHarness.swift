import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TickwireClient
import TickwireCrypto
import TickwireProtocol
import TickwireRelay
import TickwireServer
import TickwireTransport

/// Real UDP sockets on 127.0.0.1. Waiting is bounded polling of observable state, never a fixed sleep.
enum Loopback {
    static let key = SecureRandom.bytes(32)

    static func startServer(
        maxClients: Int = 8, protocolID: UInt64 = RelayServerOptions.defaultProtocolID, metrics: Bool = false
    ) async throws -> RelayServerHost {
        var options = RelayServerOptions(privateKey: key)
        if metrics {
            options.metricsHost = "127.0.0.1"
            options.metricsPort = 0
        }
        options.bindHost = "127.0.0.1"
        options.bindPort = 0
        options.maxClients = maxClients
        options.protocolID = protocolID
        var logger = Logger(label: "test.server")
        logger.logLevel = .warning
        return try await RelayServerHost.start(options: options, logger: logger)
    }

    static func token(
        for host: RelayServerHost, clientID: UInt64, room: String = "lobby", timeoutSeconds: Int32 = 5,
        createOffset: Int64 = 0, expireSeconds: UInt64 = 60, key: [UInt8] = Loopback.key,
        protocolID: UInt64 = RelayServerOptions.defaultProtocolID
    ) throws -> [UInt8] {
        let request = ConnectTokenRequest(
            protocolID: protocolID, clientID: clientID,
            createTimestamp: UInt64(Int64(MonotonicClock.unixSeconds()) + createOffset), expireSeconds: expireSeconds,
            timeoutSeconds: timeoutSeconds, publicServerAddresses: host.publicAddresses,
            userData: try RoomTicket(room: room).encodeUserData())
        return try ConnectTokenMinter.random(request, privateKey: key).encode()
    }

    /// The next event that matches, skipping others; nil if the stream ends first. (The suite's
    /// time limit bounds the wait.)
    static func next(
        _ events: inout AsyncStream<TickwireClientEvent>.Iterator, where matches: (TickwireClientEvent) -> Bool
    ) async -> TickwireClientEvent? {
        while let event = await events.next() {
            if matches(event) { return event }
        }
        return nil
    }

    /// Polls `condition` every 10 ms until it holds or `limit` passes.
    static func eventually(within limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + limit
        while clock.now < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }
}

/// A bare UDP socket for sending hand-made packets.
final class RawSocket: Sendable {
    let channel: any Channel
    let received: NIOLockedValueBox<[[UInt8]]>

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let box: NIOLockedValueBox<[[UInt8]]>
        init(_ box: NIOLockedValueBox<[[UInt8]]>) { self.box = box }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
            box.withLockedValue { $0.append(bytes) }
        }
    }

    init() async throws {
        let box = NIOLockedValueBox<[[UInt8]]>([])
        received = box
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { $0.pipeline.addHandler(Collector(box)) }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var address: NetcodeAddress { NetcodeAddress(channel.localAddress!)! }

    func send(_ bytes: [UInt8], to address: NetcodeAddress) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: SocketAddress(address), data: buffer))
    }

    func takeReceived() -> [[UInt8]] { received.withLockedValue { let r = $0; $0 = []; return r } }
}
