import Testing
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireSimulation

@Suite struct RelayRoomTests {
    private func joinedAll(_ relay: VirtualRelay) -> Bool {
        relay.clients.allSatisfy { $0.core.welcome != nil }
    }

    @Test func joinAndLeaveReachTheRoomAsReliableEvents() throws {
        var relay = try VirtualRelay(seed: 1)
        let lossy = ImpairmentProfile(latency: .milliseconds(30), loss: 0.2)
        for id in 1...3 { try relay.addClient(clientID: UInt64(id), room: "arena", up: lossy, down: lossy, timeoutSeconds: 3) }
        try relay.addClient(clientID: 99, room: "lobby")
        #expect(relay.run(for: .seconds(5)) { joinedAll($0) })
        relay.advance(by: .seconds(1))

        // Everyone in "arena" hears of the other two, with their entity ids; "lobby" hears nobody.
        for i in 0..<3 {
            let joined = relay.clients[i].heard.compactMap { event -> UInt64? in
                if case .peerJoined(let id, _) = event { id } else { nil }
            }
            #expect(Set(joined) == Set([1, 2, 3].filter { $0 != relay.clients[i].clientID }))
            #expect(joined.count == 2)
        }
        #expect(!relay.clients[3].heard.contains { if case .peerJoined = $0 { true } else { false } })

        // Client 1 leaves cleanly; client 2's uplink dies and it times out.
        relay.clients[0].core.disconnect(now: relay.now)
        relay.clients[1].up.profile = ImpairmentProfile(loss: 1)
        relay.advance(by: .seconds(6))
        let heardBy3 = relay.clients[2].heard.compactMap { event -> (UInt64, RelayMessage.PeerLeftReason)? in
            if case .peerLeft(let id, let reason) = event { (id, reason) } else { nil }
        }
        #expect(heardBy3.count == 2)
        #expect(heardBy3.contains { $0 == (1, .disconnected) })
        #expect(heardBy3.contains { $0 == (2, .timedOut) })
        #expect(relay.server.members(of: "arena").count == 1)
    }

    @Test func aFullRoomDeniesWithAReasonTheClientReads() throws {
        var configuration = RelayConfiguration()
        configuration.roomCapacity = 2
        var relay = try VirtualRelay(configuration: configuration, seed: 2)
        for id in 1...3 { try relay.addClient(clientID: UInt64(id), room: "duel") }
        try relay.addClient(clientID: 4, room: "other")
        relay.advance(by: .seconds(3))
        #expect(relay.clients[0].core.welcome != nil && relay.clients[1].core.welcome != nil)
        #expect(relay.clients[2].core.phase == .denied(.roomFull))
        #expect(relay.clients[2].heard.contains(.denied(.roomFull)))
        #expect(relay.clients[2].core.netcode.state == .disconnected)
        #expect(relay.clients[3].core.welcome != nil)
        #expect(relay.server.counters.roomFullDenials == 1)
        #expect(relay.server.members(of: "duel").count == 2)
        // The denied client never showed up in the room.
        #expect(!relay.clients[0].heard.contains { if case .peerJoined(3, _) = $0 { true } else { false } })
    }

    /// A worker hosting placed rooms only: a token for a room placed elsewhere is denied with
    /// `roomNotHosted` (never given a new room here), a hosted room admits, and a released room
    /// keeps its members but admits nobody new.
    @Test func aTokenForARoomThisWorkerDoesNotHostIsDenied() throws {
        var relay = try VirtualRelay(seed: 4)
        relay.server.host(room: "arena-1")
        try relay.addClient(clientID: 1, room: "arena-1")
        try relay.addClient(clientID: 2, room: "arena-2")
        relay.advance(by: .seconds(2))
        #expect(relay.clients[0].core.welcome != nil)
        #expect(relay.clients[1].core.phase == .denied(.roomNotHosted))
        #expect(relay.clients[1].heard.contains(.denied(.roomNotHosted)))
        #expect(relay.server.counters.roomNotHostedDenials == 1)
        #expect(relay.server.members(of: "arena-2").isEmpty && relay.server.roomCount == 1)
        #expect(relay.server.membersByRoom == ["arena-1": [1]])
        relay.server.release(room: "arena-1")
        try relay.addClient(clientID: 3, room: "arena-1")
        relay.advance(by: .seconds(2))
        #expect(relay.clients[2].core.phase == .denied(.roomNotHosted))
        #expect(relay.clients[0].core.welcome != nil && relay.server.members(of: "arena-1").count == 1)
    }

    @Test func eventsArriveExactlyOnceInOrderUnderTwentyPercentLoss() throws {
        // Each client sends 100 events a second: over the default per-client rate, which is not
        // what this test is about (RelayLimitTests is).
        var configuration = RelayConfiguration()
        configuration.limits.eventsPerSecond = 200
        configuration.limits.eventBurst = 400
        var relay = try VirtualRelay(configuration: configuration, seed: 3)
        let lossy = ImpairmentProfile(latency: .milliseconds(40), jitter: .milliseconds(10), loss: 0.2)
        for id in 1...4 { try relay.addClient(clientID: UInt64(id), room: "r", up: lossy, down: lossy, timeoutSeconds: 10) }
        #expect(relay.run(for: .seconds(10)) { joinedAll($0) })
        // Each client sends 300 numbered events to the room and 50 to the next client.
        var sentToRoom = [Int](repeating: 0, count: 4)
        var sentDirect = [Int](repeating: 0, count: 4)
        relay.advance(by: .seconds(10)) { client, _ in
            let i = Int(client.clientID) - 1
            if sentToRoom[i] < 300 {
                try? client.core.sendEvent([0, UInt8(i), UInt8(sentToRoom[i] >> 8), UInt8(sentToRoom[i] & 0xFF)])
                sentToRoom[i] += 1
            }
            if sentDirect[i] < 50, sentToRoom[i] % 6 == 0 {
                try? client.core.sendEvent([1, UInt8(i), 0, UInt8(sentDirect[i])], to: UInt64((i + 1) % 4 + 1))
                sentDirect[i] += 1
            }
        }
        relay.advance(by: .seconds(10))
        #expect(sentToRoom == [300, 300, 300, 300] && sentDirect == [50, 50, 50, 50])
        for receiver in 0..<4 {
            var roomSeq: [UInt64: [Int]] = [:]
            var directSeq: [UInt64: [Int]] = [:]
            for case .event(let from, let payload) in relay.clients[receiver].heard {
                let n = Int(payload[2]) << 8 | Int(payload[3])
                #expect(UInt64(payload[1]) + 1 == from)
                if payload[0] == 0 { roomSeq[from, default: []].append(n) } else { directSeq[from, default: []].append(n) }
            }
            for sender in 1...4 where sender != receiver + 1 {
                #expect(roomSeq[UInt64(sender)] == Array(0..<300), "receiver \(receiver + 1) from \(sender)")
            }
            let directSender = UInt64((receiver + 3) % 4 + 1)
            #expect(directSeq.keys.sorted() == [directSender])
            #expect(directSeq[directSender] == Array(0..<50))
        }
        #expect(relay.server.linkTotals.counters.reliableResends > 0)
    }
}
