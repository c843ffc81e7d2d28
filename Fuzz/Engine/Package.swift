// swift-tools-version: 6.1
// libFuzzer driver for the fuzz targets in ../Harness. Not part of the main build: tools/fuzz.sh
// builds it with `-sanitize=fuzzer,address -parse-as-library` (libFuzzer supplies `main`).
import PackageDescription

let package = Package(
    name: "TickwireFuzzEngine",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Tickwire", path: "../..")],
    targets: [
        .executableTarget(
            name: "tickwire-fuzz",
            dependencies: [.product(name: "TickwireFuzzHarness", package: "Tickwire")]
        )
    ]
)
