import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// The figure for the closing note: downlink bytes per client per second for one 32-client room
/// at 60 Hz with 64-byte states, delta snapshots against full ones. Printed, and checked loosely
/// so that a regression that loses the delta coding fails.
@Suite struct SnapshotBandwidthTests {
    struct Figure {
        var wireBytesPerClientSecond: Double
        var snapshotBytesPerClientSecond: Double
        var deferredShare: Double
    }

    static func f1(_ x: Double) -> String { String((x * 10).rounded() / 10) }
    static func f0(_ x: Double) -> String { String(Int(x.rounded())) }

    static func measure(changeChance: Double, delta: Bool, randomStates: Bool) throws -> Figure {
        var configuration = RelayConfiguration()
        configuration.deltaCompression = delta
        var relay = try VirtualRelay(configuration: configuration, seed: 2026)
        for id in 1...32 { try relay.addClient(clientID: UInt64(id), room: "room") }
        #expect(relay.run(for: .seconds(5)) { $0.clients.allSatisfy { $0.core.welcome != nil } })
        var random = SplitMix64(seed: 5)
        var steps = [Int](repeating: 0, count: 33)
        var nextTurn = [TickwireInstant](repeating: .zero, count: 33)
        // Each client's game acts at 100 Hz: a chance per 60 Hz tick becomes 0.6 × that per turn.
        let perUpdate = changeChance >= 1 ? 1 : changeChance * 60 / 100
        let act = { (client: inout VirtualRelay.Client, now: TickwireInstant) in
            let id = Int(client.clientID)
            guard now >= nextTurn[id] else { return }
            nextTurn[id] = max(nextTurn[id] + .milliseconds(10), now)
            client.actsAt = nextTurn[id]
            guard random.chance(perUpdate) else { return }
            steps[id] += 1
            let state = randomStates
                ? (0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                : SnapshotDeliveryTests.movingState(client: client.clientID, step: steps[id])
            try? client.core.sendState(state)
        }
        relay.advance(by: .seconds(2), afterClientUpdate: act)
        let bytesBefore = relay.server.netcode.counters.bytesSent
        let packetsBefore = relay.server.netcode.counters.packetsSent
        let snapshotBefore = relay.server.snapshotTotals
        let seconds = 5.0
        relay.advance(by: .seconds(5), afterClientUpdate: act)
        let bytes = Double(relay.server.netcode.counters.bytesSent - bytesBefore)
        let packets = Double(relay.server.netcode.counters.packetsSent - packetsBefore)
        let snapshots = relay.server.snapshotTotals
        let sent = Double(snapshots.entitiesSent - snapshotBefore.entitiesSent)
        let deferred = Double(snapshots.entitiesDeferred - snapshotBefore.entitiesDeferred)
        return Figure(
            wireBytesPerClientSecond: (bytes + packets * 28) / 32 / seconds,
            snapshotBytesPerClientSecond: Double(snapshots.bytes - snapshotBefore.bytes) / 32 / seconds,
            deferredShare: deferred / max(1, sent + deferred))
    }

    @Test func bytesPerClientPerSecondForA32ClientRoomAt60Hz() throws {
        func row(_ name: String, _ f: Figure) -> String {
            let kb = f.wireBytesPerClientSecond / 1000
            let snap = f.snapshotBytesPerClientSecond / 1000
            let pct = f.deferredShare * 100
            return "\(name): \(Self.f1(kb)) kB/s on the wire (snapshots \(Self.f1(snap)) kB/s), \(Self.f0(pct))% of changes deferred"
        }
        let allMoving = try Self.measure(changeChance: 1, delta: true, randomStates: false)
        let allMovingFull = try Self.measure(changeChance: 1, delta: false, randomStates: false)
        let allRandom = try Self.measure(changeChance: 1, delta: true, randomStates: true)
        let tenth = try Self.measure(changeChance: 0.1, delta: true, randomStates: false)
        let tenthFull = try Self.measure(changeChance: 0.1, delta: false, randomStates: false)
        print("bandwidth [32 clients, 60 Hz, 64 B states, per client]:")
        print("  " + row("(a) all move every tick, delta", allMoving))
        print("  " + row("(a) all move every tick, full", allMovingFull))
        print("  " + row("(a') all 64 bytes random every tick, delta", allRandom))
        print("  " + row("(b) 10% change per tick, delta", tenth))
        print("  " + row("(b) 10% change per tick, full", tenthFull))
        // Every full snapshot would be 31 × 76 bytes + 19: it cannot fit one packet, so full
        // mode is capped at the budget and must defer; uncapped it would cost this much:
        let uncapped = Double(31 * 76 + 19 + 9 + 3 + 46) * 60 / 1000
        print("  full snapshots uncapped (31 entities x 76 B, 60 Hz): \(Self.f1(uncapped)) kB/s, over one packet each")
        #expect(tenth.wireBytesPerClientSecond * 4 < tenthFull.wireBytesPerClientSecond)
        #expect(tenth.deferredShare == 0)
        #expect(allMoving.wireBytesPerClientSecond < allMovingFull.wireBytesPerClientSecond)
        #expect(allMoving.deferredShare < allMovingFull.deferredShare)
    }
}
