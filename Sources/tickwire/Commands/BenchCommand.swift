import ArgumentParser
import Foundation
import TickwireProtocol
import TickwireReliability

/// Micro-benchmarks of the reliability layer's hot paths, in process, no sockets.
struct MicroBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro",
        abstract: "Measure header encode/decode and channel packing/unpacking (build with -c release).")

    @Option(help: "Iterations per benchmark.") var iterations: Int = 1_000_000
    @Option(help: "Repeats of each benchmark; the best is reported.") var repeats: Int = 5

    func validate() throws {
        guard iterations >= 1000 else { throw ValidationError("--iterations must be at least 1000, got \(iterations)") }
        guard (1...100).contains(repeats) else { throw ValidationError("--repeats must be 1...100, got \(repeats)") }
    }

    func run() throws {
        #if DEBUG
        print("note: debug build; figures are only meaningful with `swift build -c release`")
        #endif
        print("benchmark                                         ns/op      ops/s")
        var sink: UInt64 = 0
        report("header encode (4..9 bytes)", iterations) { n in
            var buffer = [UInt8](repeating: 0, count: 16)
            var total = 0
            buffer.withUnsafeMutableBytes { raw in
                for i in 0..<n {
                    var writer = UnsafeByteWriter(raw)
                    let bits: UInt32 = i & 7 == 0 ? 0xFFFF_FEFF : 0xFFFF_FFFF
                    PacketHeader(sequence: UInt16(truncatingIfNeeded: i), ack: UInt16(truncatingIfNeeded: i &- 3), ackBits: bits)
                        .encode(into: &writer)
                    total &+= writer.offset
                }
            }
            sink &+= UInt64(total)
        }
        var encoded: [[UInt8]] = []
        for i in 0..<256 {
            let sequence = UInt16(truncatingIfNeeded: i * 97)
            let gap: UInt16 = i % 3 == 0 ? 400 : 2
            let bits: UInt32 = i % 5 == 0 ? 0x00FF_FFFF : .max
            encoded.append(PacketHeader(sequence: sequence, ack: sequence &- gap, ackBits: bits).encoded())
        }
        report("header decode", iterations) { n in
            var total: UInt64 = 0
            for i in 0..<n {
                encoded[i & 255].withUnsafeBytes { raw in
                    var reader = ByteReader(raw)
                    if let header = PacketHeader.decode(&reader) { total &+= UInt64(header.ack) }
                }
            }
            sink &+= total
        }
        let packets = max(1000, iterations / 10)
        try report("pack: 64 B state only (newest wins)", packets) { n in
            sink &+= try Self.packStateOnly(n)
        }
        var phases = Phases()
        try report("round trip: 8 x 40 B reliable + 64 B state", packets) { n in
            phases = Phases()
            sink &+= try Self.roundTrip(n, reliablePerPacket: 8, size: 40, state: 64, phases: &phases)
        }
        print(String(format: "  of which: pack %.0f ns, receive+deliver %.0f ns, ack back %.0f ns (per packet, clock reads included)",
                     phases.pack / Double(packets), phases.receive / Double(packets), phases.ack / Double(packets)))
        try report("fragments: 60 KB message packed and reassembled", max(100, iterations / 1000)) { n in
            var ignored = Phases()
            sink &+= try Self.roundTrip(n, reliablePerPacket: 1, size: 60_000, state: 0, phases: &ignored)
        }
        if sink == 42 { print("") }  // keeps the work observable
    }

    private func report(_ name: String, _ n: Int, _ body: (Int) throws -> Void) rethrows {
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000_000)
        for _ in 0..<repeats {
            let elapsed = try clock.measure { try body(n) }
            best = min(best, elapsed)
        }
        let nanos = Double(best.nanosecondsClamped) / Double(n)
        let padded = name.padding(toLength: 48, withPad: " ", startingAt: 0)
        print(String(format: "%@ %9.1f %10.0f", padded, nanos, 1e9 / nanos))
        fflush(nil)
    }

    /// A state message every tick, one packet each, no peer: the unreliable path alone.
    private static func packStateOnly(_ n: Int) throws -> UInt64 {
        var sender = try ChannelConnection()
        var buffer = [UInt8](repeating: 0, count: 1200)
        let state = [UInt8](repeating: 3, count: 64)
        var total: UInt64 = 0
        var now = TickwireInstant.zero
        for _ in 0..<n {
            try sender.sendUnreliable(state)
            total &+= UInt64(buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: now) })
            sender.endTick()
            now = now + .milliseconds(16)
        }
        return total
    }

    struct Phases {
        var pack = 0.0
        var receive = 0.0
        var ack = 0.0
    }

    /// Two connections exchanging packets with no loss: every packet is received, its messages
    /// delivered, and acks flow back.
    private static func roundTrip(_ n: Int, reliablePerPacket: Int, size: Int, state: Int, phases: inout Phases) throws -> UInt64 {
        var a = try ChannelConnection()
        var b = try ChannelConnection()
        var buffer = [UInt8](repeating: 0, count: 1200)
        let message = [UInt8](repeating: 7, count: size)
        let stateBytes = [UInt8](repeating: 3, count: state)
        var total: UInt64 = 0
        var now = TickwireInstant.zero
        let clock = ContinuousClock()
        for _ in 0..<n {
            for _ in 0..<reliablePerPacket { try a.sendReliable(message) }
            if state > 0 { try a.sendUnreliable(stateBytes) }
            while true {
                let t0 = clock.now
                let length = buffer.withUnsafeMutableBytes { a.writePacket(into: $0, now: now) }
                let t1 = clock.now
                if length == 0 { break }
                buffer.withUnsafeBytes { raw in _ = b.receive(UnsafeRawBufferPointer(rebasing: raw[0..<length]), now: now) { total &+= UInt64($0.count) } }
                while let count = b.receiveReliable({ $0.count }) { total &+= UInt64(count) }
                let t2 = clock.now
                let ack = buffer.withUnsafeMutableBytes { b.writePacket(into: $0, now: now) }
                buffer.withUnsafeBytes { raw in _ = a.receive(UnsafeRawBufferPointer(rebasing: raw[0..<ack]), now: now) }
                phases.pack += Double((t1 - t0).nanosecondsClamped)
                phases.receive += Double((t2 - t1).nanosecondsClamped)
                phases.ack += Double((clock.now - t2).nanosecondsClamped)
            }
            a.endTick()
            now = now + .milliseconds(16)
        }
        guard a.reliableMessagesInFlight == 0 else { throw ValidationError("benchmark link did not drain") }
        return total
    }
}
