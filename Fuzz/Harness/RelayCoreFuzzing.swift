import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireSimulation

/// The relay server and client cores end to end in virtual time, with the fuzzer writing the
/// plaintext of authenticated payloads: everything past netcode's AEAD is reachable. Templates
/// with clients already seated are built once and copied per input.
enum RelayCoreFuzzing {
    /// Three clients seated in room "a" (ids 1...3), one in room "b" (id 4).
    nonisolated(unsafe) static let template: VirtualRelay = {
        var relay = try! VirtualRelay(maxClients: 8, seed: 1)
        for id in 1...4 { _ = try! relay.addClient(clientID: UInt64(id), room: id == 4 ? "b" : "a", timeoutSeconds: 5) }
        relay.advance(by: .milliseconds(300))
        precondition(relay.server.admittedClientCount == 4, "fuzz template: clients were not seated")
        // Coarser than the simulator's 1 ms: inputs run five times as many steps per second.
        relay.step = fineStep
        return relay
    }()

    /// Script, one op per step until the input ends:
    ///   0 payload from client k: the plaintext (after decryption) the server sees
    ///   1 advance time by n ms (server ticks, client updates)
    ///   2 client k disconnects;  3 a new client joins room "a" or "b";  4 client k sends an event
    ///   5 client k sends its state;  6 client k stops (or resumes) sending channel packets
    ///   7 jump up to 12.75 s ahead in coarse steps (timeouts, idle and backlog removal)
    static func server(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        var relay = template
        var nextID: UInt64 = 10
        var steps = 0
        let start = relay.now
        while !input.isEmpty && steps < 64 && relay.now - start < budget {
            steps += 1
            let op = input.byte() % 8
            let k = relay.clients.isEmpty ? 0 : Int(input.byte()) % relay.clients.count
            switch op {
            case 0:
                let payload = input.chunk()
                if !relay.clients.isEmpty { _ = relay.clients[k].core.sendRawPayload(payload, now: relay.now) }
                relay.advance(by: .milliseconds(2))
            case 1:
                relay.advance(by: .milliseconds(Int64(input.byte() % 64) * 2))
            case 7:
                jump(&relay, by: input.byte())
            case 2:
                if !relay.clients.isEmpty { relay.clients[k].core.disconnect(now: relay.now) }
            case 3:
                nextID += 1
                if relay.clients.count < 12 {
                    _ = try? relay.addClient(clientID: nextID, room: input.byte() & 1 == 0 ? "a" : "b", timeoutSeconds: 5)
                }
            case 4:
                let payload = input.chunk()
                if !relay.clients.isEmpty { try? relay.clients[k].core.sendEvent(payload) }
            case 5:
                let payload = input.chunk(limit: 80)
                if !relay.clients.isEmpty { try? relay.clients[k].core.sendState(payload) }
            default:
                if !relay.clients.isEmpty { relay.clients[k].sendsChannelPackets.toggle() }
            }
        }
        relay.advance(by: .milliseconds(20))
        _ = relay.server.linkTotals
        _ = relay.server.snapshotTotals
    }

    /// Virtual time one input may use: past the relay's ack and idle timeouts, and bounded so
    /// every input stays cheap.
    static let budget: Duration = .seconds(12)
    static let fineStep: Duration = .milliseconds(5)

    /// Moves time `units` × 50 ms ahead with a coarse step: cheap enough per input to reach
    /// the relay's multi-second timeouts.
    static func jump(_ relay: inout VirtualRelay, by units: UInt8) {
        relay.step = .milliseconds(250)
        relay.advance(by: .milliseconds(Int64(units) * 50))
        relay.step = fineStep
    }

    /// Script: 0 a payload from the server to client 1 (plaintext after decryption);
    /// 1 advance n ms; 2 client 1 samples its interpolation, then time jumps up to 0.35 s;
    /// 3 client 1 sends an event.
    static func client(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        var relay = template
        guard let slot = relay.server.netcode.clientIndex(forClientID: 1) else { return }
        var steps = 0
        let start = relay.now
        while !input.isEmpty && steps < 64 && relay.now - start < budget {
            steps += 1
            switch input.byte() % 4 {
            case 0:
                let payload = input.chunk()
                _ = try? relay.server.netcode.sendPayload(slot, payload, now: relay.now)
                relay.advance(by: .milliseconds(2))
            case 1:
                relay.advance(by: .milliseconds(Int64(input.byte() % 64) * 2))
            case 2:
                _ = relay.clients[0].core.sample(at: relay.now)
                jump(&relay, by: input.byte() % 8)
            default:
                try? relay.clients[0].core.sendEvent(input.chunk())
            }
        }
        _ = relay.clients[0].core.sample(at: relay.now + .milliseconds(100))
        _ = relay.clients[0].core.channels.stats
    }
}
