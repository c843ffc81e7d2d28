import TickwireProtocol
import TickwireReliability
import TickwireSimulation

/// Two `ChannelConnection`s joined by impaired in-memory pipes, stepped in virtual time.
struct ChannelPair {
    var a: ChannelConnection
    var b: ChannelConnection
    var aToB: ImpairedPipe
    var bToA: ImpairedPipe
    var now = TickwireInstant.zero
    var tick: Duration = .nanoseconds(16_666_667)
    var packetsPerTick = 4
    private var scratch = [UInt8](repeating: 0, count: 2048)

    init(profile: ImpairmentProfile, seed: UInt64, configuration: ChannelConfiguration = ChannelConfiguration()) throws {
        a = try ChannelConnection(configuration: configuration)
        b = try ChannelConnection(configuration: configuration)
        aToB = ImpairedPipe(profile: profile, seed: seed)
        bToA = ImpairedPipe(profile: profile, seed: seed ^ 0x5eed_5eed_5eed_5eed)
    }

    /// Delivers what is due to each side, then lets each side write its packets for this tick.
    mutating func step(
        unreliableAtA: (UnsafeRawBufferPointer) -> Void = { _ in },
        unreliableAtB: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) {
        while let packet = bToA.receive(now: now) { a.receive(packet, now: now, onUnreliable: unreliableAtA) }
        while let packet = aToB.receive(now: now) { b.receive(packet, now: now, onUnreliable: unreliableAtB) }
        Self.flush(&a, into: &aToB, scratch: &scratch, now: now, packets: packetsPerTick)
        Self.flush(&b, into: &bToA, scratch: &scratch, now: now, packets: packetsPerTick)
        a.update(now: now)
        b.update(now: now)
        now = now + tick
    }

    private static func flush(
        _ connection: inout ChannelConnection, into pipe: inout ImpairedPipe, scratch: inout [UInt8], now: TickwireInstant, packets: Int
    ) {
        for _ in 0..<packets {
            let length = scratch.withUnsafeMutableBytes { connection.writePacket(into: $0, now: now) }
            if length == 0 { break }
            scratch.withUnsafeBytes { pipe.send(UnsafeRawBufferPointer(rebasing: $0[0..<length]), now: now) }
        }
        connection.endTick()
    }
}
