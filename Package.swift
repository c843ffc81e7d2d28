// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
// Targets that touch sockaddr through NIO see its C types via CNIOLinux, which
// MemberImportVisibility would require importing by name; they keep the other checks.
let shellSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "Tickwire",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "TickwireProtocol", targets: ["TickwireProtocol"]),
        .library(name: "TickwireReliability", targets: ["TickwireReliability"]),
        .library(name: "TickwireRelay", targets: ["TickwireRelay"]),
        .library(name: "TickwireServer", targets: ["TickwireServer"]),
        .library(name: "TickwireClient", targets: ["TickwireClient"]),
        // libTickwireC.so: the client for engines that call C (Sources/CTickwire/include/tickwire.h).
        .library(name: "TickwireC", type: .dynamic, targets: ["TickwireC"]),
        .library(name: "TickwireSimulation", targets: ["TickwireSimulation"]),
        .executable(name: "tickwire", targets: ["tickwire"]),
        // For Fuzz/Engine (the libFuzzer driver); not an API.
        .library(name: "TickwireFuzzHarness", targets: ["TickwireFuzzHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // HeapModule: the I/O loop's timers and the simulator's wake queue (NIO already pulls it in).
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libsodium, as installed by `apt-get install libsodium-dev`.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // Prefetch hints for loops over many clients' state (header-only, static inline).
        .target(name: "CTickwireMemory"),
        // Total, allocation-free wrappers over the two AEADs netcode uses, and secure randomness.
        .target(name: "TickwireCrypto", dependencies: ["CSodium"], swiftSettings: shellSettings),
        // Sans-IO core: wire codecs and connection state machines. No sockets, clocks or event loops.
        .target(name: "TickwireProtocol", dependencies: ["TickwireCrypto", "CTickwireMemory"], swiftSettings: shellSettings),
        // Sans-IO reliability layer: packet acks, link statistics, reliable and unreliable channels.
        .target(name: "TickwireReliability", dependencies: ["TickwireProtocol", "CTickwireMemory"], swiftSettings: strictSettings),
        // Sans-IO relay logic: rooms and relaying on top of the netcode server.
        .target(
            name: "TickwireRelay",
            dependencies: ["TickwireProtocol", "TickwireReliability", "CTickwireMemory", .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: strictSettings),
        // Sans-IO room placement: which worker hosts which room, seat reservations (time passed in).
        .target(name: "TickwirePlacement", swiftSettings: strictSettings),
        // A fleet's shared room directory in PostgreSQL (`--directory postgres://…`).
        .target(
            name: "TickwireDirectory",
            dependencies: [
                "TickwirePlacement",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: shellSettings
        ),
        // Batched UDP syscalls (recvmmsg/sendmmsg), the I/O thread's poller (epoll, timerfd, eventfd), thread pinning.
        .target(name: "CTickwireSocket"),
        // The thin I/O shell: DatagramLoop (a thread per loop over epoll: UDP sockets read with
        // recvmmsg, written with sendmmsg, timers; a SwiftNIO EventLoop), and the HTTP helpers.
        .target(
            name: "TickwireTransport",
            dependencies: [
                "TickwireProtocol", "CTickwireSocket",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: shellSettings
        ),
        // The relay server: drives the server state machine over the transport.
        .target(
            name: "TickwireServer",
            dependencies: [
                "TickwireProtocol", "TickwireRelay", "TickwireReliability", "TickwireTransport", "TickwireCrypto",
                "TickwirePlacement", "TickwireDirectory",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: shellSettings
        ),
        // `tickwire bench capacity`: the relay against the ceiling of its crypto and syscalls, in one run.
        .target(
            name: "TickwireBench",
            dependencies: [
                "CTickwireSocket", "TickwireCrypto", "TickwireProtocol", "TickwireRelay", "TickwireServer", "TickwireTransport",
                "TickwireSimulation",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: shellSettings
        ),
        // The client library games link.
        .target(
            name: "TickwireClient",
            dependencies: [
                "TickwireProtocol", "TickwireRelay", "TickwireReliability", "TickwireTransport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // tickwire.h: the C API's declarations and types (implemented in TickwireC).
        .target(name: "CTickwire"),
        // The C API over the Swift client core (`@_cdecl`), with a plain non-blocking UDP socket:
        // no NIO, no threads; the engine polls it with the time.
        .target(
            name: "TickwireC",
            dependencies: ["CTickwire", "CTickwireSocket", "TickwireProtocol", "TickwireRelay", "TickwireReliability"],
            swiftSettings: strictSettings
        ),
        // Simulator: impaired in-memory links, virtual time, bots (top-level Simulator/ folder).
        .target(
            name: "TickwireSimulation",
            dependencies: [
                "TickwireProtocol", "TickwireReliability", "TickwireRelay",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Simulator/TickwireSimulation",
            swiftSettings: strictSettings
        ),
        // Real-socket swarms: many bots multiplexed on event loops (workers) against a running relay.
        .target(
            name: "TickwireSwarm",
            dependencies: [
                "TickwireSimulation", "TickwireRelay", "TickwireReliability", "TickwireProtocol", "TickwireTransport", "CTickwireMemory",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Simulator/TickwireSwarm",
            swiftSettings: shellSettings
        ),
        // Fuzz targets as plain functions: libFuzzer drives them (Fuzz/Engine), the tests replay
        // the committed corpus through them.
        .target(
            name: "TickwireFuzzHarness",
            dependencies: ["TickwireProtocol", "TickwireReliability", "TickwireRelay", "TickwireSimulation"],
            path: "Fuzz/Harness",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "tickwire",
            dependencies: [
                "TickwireProtocol", "TickwireRelay", "TickwireReliability", "TickwireServer", "TickwireClient", "TickwireCrypto",
                "TickwireSimulation", "TickwireSwarm", "TickwireBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireProtocolTests",
            dependencies: ["TickwireProtocol", "TickwireRelay", "TickwireReliability", "TickwireCrypto"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireReliabilityTests",
            dependencies: ["TickwireReliability", "TickwireProtocol", "TickwireSimulation"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireRelayTests",
            dependencies: ["TickwireRelay", "TickwireReliability", "TickwireProtocol", "TickwireSimulation"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireCLITests",
            dependencies: ["tickwire", "TickwireClient", "TickwireSwarm", "TickwireProtocol"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwirePlacementTests",
            dependencies: ["TickwirePlacement"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireDirectoryTests",
            dependencies: ["TickwireDirectory", "TickwirePlacement", .product(name: "Logging", package: "swift-log"), .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: shellSettings
        ),
        .testTarget(
            name: "TickwireFuzzTests",
            dependencies: ["TickwireFuzzHarness", "TickwireProtocol"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireSimulationTests",
            dependencies: ["TickwireSimulation", "TickwireRelay", "TickwireProtocol"],
            resources: [.copy("Scenarios")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireIntegrationTests",
            dependencies: [
                "TickwireProtocol", "TickwireServer", "TickwireClient", "TickwireCrypto", "TickwireSwarm", "TickwireSimulation",
                "TickwireBench",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: shellSettings
        ),
    ]
)
