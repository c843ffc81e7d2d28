import ArgumentParser
import Foundation
import Glibc
import TickwireProtocol

/// `tickwire flood`: unauthenticated traffic against a relay on loopback, for testing that it
/// stays cheap. It refuses any other target.
struct FloodCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flood",
        abstract: "Send unauthenticated junk or fake connection requests to a relay on loopback at a fixed rate.",
        discussion: """
            garbage: random datagrams of 1...1200 bytes. requests: 1078-byte netcode connection requests with the
            right version, protocol id and a live expiry, whose token cannot decrypt: each one reaches the relay's
            decryption step unless its per-address budget stops it. --sources N binds N loopback addresses
            (127.0.1.1 ...) so the flood comes from N source addresses.
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable { case garbage, requests }

    @Option(help: "The relay's address on loopback, e.g. 127.0.0.1:40000.") var target: String
    @Option(help: "garbage or requests.") var kind: Kind = .garbage
    @Option(help: "Datagrams per second (1...2000000).") var rate: Int = 100_000
    @Option(help: "How long, in seconds (at most 600).") var seconds: Double = 10
    @Option(help: "Source addresses to send from (1...250), 127.0.1.1 upwards; IPv4 targets only.") var sources: Int = 1
    @Option(help: "Protocol id the requests carry (decimal or 0x hex).") var protocolID = ProtocolID(0x6572_6977_6b63_6974)
    @Option(help: "Seed for the junk.") var seed: UInt64 = 1

    func validate() throws {
        guard (1...2_000_000).contains(rate) else { throw ValidationError("--rate must be 1...2000000 datagrams a second, got \(rate)") }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be more than 0 and at most 600, got \(seconds)") }
        guard (1...250).contains(sources) else { throw ValidationError("--sources must be 1...250, got \(sources)") }
    }

    func run() throws {
        guard let address = NetcodeAddress(parsing: target), address.family == .ipv4 else {
            throw ValidationError("--target must be an IPv4 address:port such as 127.0.0.1:40000, got '\(target)'")
        }
        guard address.low >> 24 == 127 else {
            throw ValidationError("--target must be a loopback address (127.x): this tool only loads relays on this machine, got \(address)")
        }
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = address.port.bigEndian
        destination.sin_addr.s_addr = UInt32(truncatingIfNeeded: address.low).bigEndian

        var sockets: [Int32] = []
        for k in 0..<sources {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw CLIError("cannot open a UDP socket: errno \(errno)") }
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            let host = sources == 1 ? UInt32(0x7F00_0001) : UInt32(0x7F00_0100) + UInt32(k + 1)
            local.sin_addr.s_addr = host.bigEndian
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw CLIError("cannot bind 127.0.1.\(k + 1): errno \(errno)") }
            sockets.append(fd)
        }
        defer { for fd in sockets { close(fd) } }

        var random = SplitMix64(seed: seed)
        let batch = 64
        var payloads = [[UInt8]](repeating: [], count: batch)
        let expire = UInt64(time(nil)) + 3600
        func refill() {
            for i in 0..<batch {
                switch kind {
                case .garbage:
                    payloads[i] = (0..<Int(1 + random.next() % 1200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                case .requests:
                    func junk(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
                    payloads[i] = NetcodePacket.ConnectionRequest(
                        protocolID: protocolID.value, expireTimestamp: expire,
                        nonce: junk(Netcode.connectTokenNonceBytes), encryptedPrivate: junk(Netcode.connectTokenPrivateBytes)
                    ).encode()
                }
            }
        }
        refill()
        let total = Int(Double(rate) * seconds)
        let start = ContinuousClock.now
        var sent = 0
        var failed = 0
        var round = 0
        let deadline = start + .seconds(seconds)
        while sent < total && ContinuousClock.now < deadline {
            let due = Int(Double(rate) * (ContinuousClock.now - start).secondsDouble)
            if sent >= due {
                usleep(200)
                continue
            }
            let fd = sockets[round % sockets.count]
            round += 1
            let n = min(batch, total - sent)
            let written = Self.sendBatch(fd: fd, payloads: payloads, count: n, to: &destination)
            // Paced by attempts: a datagram the kernel refused (a full buffer) is not retried.
            sent += n
            failed += n - max(0, written)
            if round % 64 == 0 && kind == .garbage { refill() }
        }
        let elapsed = (ContinuousClock.now - start).secondsDouble
        print(String(format: "flood: %d %@ datagrams in %.1f s (%.0f/s) from %d source address(es); %d refused by the kernel",
                     sent - failed, kind.rawValue, elapsed, Double(sent - failed) / elapsed, sources, failed))
    }

    /// The first `count` payloads, one sendto each; returns how many went out.
    static func sendBatch(fd: Int32, payloads: [[UInt8]], count: Int, to destination: inout sockaddr_in) -> Int {
        var sent = 0
        withUnsafePointer(to: &destination) { dest in
            dest.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                for i in 0..<count {
                    let n = payloads[i].withUnsafeBytes { raw in
                        sendto(fd, raw.baseAddress, raw.count, 0, address, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                    if n >= 0 { sent += 1 }
                }
            }
        }
        return sent
    }
}
