// swift-tools-version: 6.1
// Allocation and time benchmarks of the hot paths, with ordo-one/benchmark. A package of its own so
// the main build and test suite do not pay for it: `tools/benchmarks.sh` runs it.
import PackageDescription

let package = Package(
    name: "TickwireBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Tickwire", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TickwireSimulation", package: "Tickwire"),
                .product(name: "TickwireRelay", package: "Tickwire"),
                .product(name: "TickwireReliability", package: "Tickwire"),
                .product(name: "TickwireProtocol", package: "Tickwire"),
            ],
            path: "HotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The same replays without the benchmark harness, for `valgrind --tool=dhat` (where allocations come from).
        .executableTarget(
            name: "AllocProbe",
            dependencies: [
                .product(name: "TickwireSimulation", package: "Tickwire"),
                .product(name: "TickwireRelay", package: "Tickwire"),
                .product(name: "TickwireProtocol", package: "Tickwire"),
            ],
            path: "AllocProbe"
        ),
    ]
)
