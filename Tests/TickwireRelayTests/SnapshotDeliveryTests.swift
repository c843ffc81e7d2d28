import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// Snapshots over the in-memory network: what each client rebuilds must be exactly what the
/// server says it sent, and converge on the server's true state.
@Suite struct SnapshotDeliveryTests {
    /// A moving entity: 16 bytes of position and velocity that change every call, the rest fixed.
    static func movingState(client: UInt64, step: Int) -> [UInt8] {
        var state = [UInt8](repeating: UInt8(truncatingIfNeeded: client), count: 64)
        for k in 0..<16 { state[k] = UInt8(truncatingIfNeeded: (step &* (k + 1)) ^ Int(client)) }
        return state
    }

    /// Compares every client's newest decoded snapshot with the server's record of that tick.
    private func checkReconstruction(_ relay: VirtualRelay, _ compared: inout Int) {
        for client in relay.clients {
            guard let entity = client.core.welcome?.entityID, let tick = client.core.decoder.newestTick,
                  let serverView = relay.server.snapshotView(of: Int(entity), tick: tick) else { continue }
            #expect(client.core.decoder.view(tick: tick) == serverView, "client \(client.clientID) tick \(tick)")
            compared += 1
        }
    }

    /// After states stop changing: every client holds every other member's true state.
    private func checkConverged(_ relay: VirtualRelay, room members: [Int]) {
        for i in members {
            let snapshot = relay.clients[i].core.latestSnapshot
            #expect(snapshot?.entities.count == members.count - 1)
            for j in members where j != i {
                let entity = Int(relay.clients[j].core.welcome!.entityID)
                #expect(snapshot?.entity(clientID: relay.clients[j].clientID)?.state == relay.server.entityState(of: entity),
                        "client \(relay.clients[i].clientID) sees \(relay.clients[j].clientID)")
            }
        }
    }

    /// A tick whose first packet to a client is nearly filled by a large relayed event still gets
    /// its snapshot to that client, in a second packet of the same update.
    @Test func aSnapshotBehindALargeEventStillLeavesThatTick() throws {
        var relay = try VirtualRelay(seed: 12)
        for id in 1...2 { _ = try relay.addClient(clientID: UInt64(id), room: "a", timeoutSeconds: 10) }
        var step = 0
        func drive(_ duration: Duration) {
            relay.advance(by: duration) { client, _ in
                step += 1
                if client.core.welcome != nil { try? client.core.sendState(Self.movingState(client: client.clientID, step: step)) }
            }
        }
        drive(.seconds(1))
        let ticksBefore = relay.server.counters.ticks
        let decodedBefore = relay.clients[1].core.decoder.counters.decoded
        // Bursts of events take more packets than one update may send (8), so the rest leave
        // with the next updates, ticks among them.
        for _ in 0..<4 {
            for _ in 0..<12 { try relay.clients[0].core.sendEvent([UInt8](repeating: 9, count: 1100)) }
            drive(.milliseconds(100))
        }
        drive(.milliseconds(200))
        let ticks = relay.server.counters.ticks - ticksBefore
        let decoded = relay.clients[1].core.decoder.counters.decoded - decodedBefore
        #expect(relay.clients[1].heard.filter { if case .event = $0 { true } else { false } }.count == 48)
        #expect(decoded >= ticks - 1, "\(decoded) snapshots decoded over \(ticks) ticks")
    }

    @Test func deltaSnapshotsRebuildExactlyWhatTheServerSentUnderLoss() throws {
        var relay = try VirtualRelay(seed: 11)
        let link = ImpairmentProfile(latency: .milliseconds(40), jitter: .milliseconds(15), loss: 0.1, duplicate: 0.05, reorder: 0.05)
        for id in 1...8 { try relay.addClient(clientID: UInt64(id), room: "arena", up: link, down: link, timeoutSeconds: 10) }
        try relay.addClient(clientID: 50, room: "elsewhere")
        #expect(relay.run(for: .seconds(5)) { $0.clients.allSatisfy { $0.core.welcome != nil } })
        var step = 0
        var compared = 0
        for _ in 0..<500 {
            step += 1
            relay.advance(by: .milliseconds(10)) { client, _ in
                try? client.core.sendState(Self.movingState(client: client.clientID, step: step))
            }
            checkReconstruction(relay, &compared)
        }
        #expect(compared > 3000)
        let totals = relay.server.snapshotTotals
        #expect(totals.snapshots > totals.fullSnapshots * 10, "most snapshots are deltas")
        #expect(relay.clients.allSatisfy { $0.core.decoder.counters.malformed == 0 })
        // Freeze: every client converges on the server's true state.
        relay.advance(by: .seconds(1))
        checkConverged(relay, room: Array(0..<8))
        #expect(relay.clients[8].core.latestSnapshot?.entities.isEmpty == true)
    }

    /// A room that empties is closed (the last room takes its place in the tick's list); the
    /// others keep their members and snapshots, and a room opened again starts afresh.
    @Test func aRoomThatClosesLeavesTheOtherRoomsTicking() throws {
        var relay = try VirtualRelay(seed: 12)
        for (id, room) in [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c")] {
            try relay.addClient(clientID: UInt64(id), room: room)
        }
        #expect(relay.run(for: .seconds(5)) { $0.clients.allSatisfy { $0.core.welcome != nil } })
        var step = 0
        func move(_ milliseconds: Int) {
            for _ in 0..<(milliseconds / 10) {
                step += 1
                relay.advance(by: .milliseconds(10)) { client, _ in
                    guard client.core.welcome != nil else { return }
                    try? client.core.sendState(Self.movingState(client: client.clientID, step: step))
                }
            }
        }
        move(500)
        #expect(relay.server.roomCount == 3)
        relay.clients[0].core.disconnect(now: relay.now)
        relay.clients[1].core.disconnect(now: relay.now)
        move(500)
        #expect(relay.server.roomCount == 2 && relay.server.members(of: "a").isEmpty)
        #expect(relay.server.membersByRoom.keys.sorted() == ["b", "c"])
        relay.advance(by: .seconds(1))
        checkConverged(relay, room: [2, 3])
        checkConverged(relay, room: [4, 5])
        try relay.addClient(clientID: 7, room: "a")
        try relay.addClient(clientID: 8, room: "c")
        #expect(relay.run(for: .seconds(3)) { $0.clients[6].core.welcome != nil && $0.clients[7].core.welcome != nil })
        move(500)
        relay.advance(by: .seconds(1))
        #expect(relay.server.roomCount == 3 && relay.server.admittedClientCount == 6)
        #expect(relay.server.members(of: "a").count == 1 && relay.server.members(of: "c").count == 3)
        checkConverged(relay, room: [6])
        checkConverged(relay, room: [2, 3])
        checkConverged(relay, room: [4, 5, 7])
    }

    @Test func budgetOverflowRotatesEveryEntity() throws {
        // 32 clients whose 64 random bytes all change every update: far more than one packet.
        var relay = try VirtualRelay(seed: 12)
        for id in 1...32 { try relay.addClient(clientID: UInt64(id), room: "big") }
        #expect(relay.run(for: .seconds(5)) { $0.clients.allSatisfy { $0.core.welcome != nil } })
        var random = SplitMix64(seed: 99)
        // For client 0: the last tick at which each other entity's state changed in its view.
        var lastChange: [UInt64: UInt32] = [:]
        var longestWait: UInt32 = 0
        var previous: RoomSnapshot?
        for _ in 0..<300 {
            relay.advance(by: .milliseconds(10)) { client, _ in
                try? client.core.sendState((0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            }
            guard let snapshot = relay.clients[0].core.latestSnapshot, snapshot.tick != previous?.tick else { continue }
            for entity in snapshot.entities where previous?.entity(clientID: entity.clientID)?.state != entity.state {
                if let last = lastChange[entity.clientID] { longestWait = max(longestWait, snapshot.tick - last) }
                lastChange[entity.clientID] = snapshot.tick
            }
            previous = snapshot
        }
        let totals = relay.server.snapshotTotals
        #expect(totals.entitiesDeferred > 0, "the budget was exceeded")
        #expect(lastChange.count == 31, "every other entity was updated")
        // About 15 entities fit a packet, so each of 31 gets its turn within a few ticks.
        #expect(longestWait <= 4, "longest wait \(longestWait) ticks")
        relay.advance(by: .milliseconds(500))
        checkConverged(relay, room: Array(0..<32))
    }
}
