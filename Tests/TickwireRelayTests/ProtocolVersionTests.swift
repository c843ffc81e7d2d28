import Testing
import TickwireProtocol
@testable import TickwireRelay
import TickwireSimulation

/// A client that meets a relay of another protocol version leaves at once and says why.
@Suite struct ProtocolVersionTests {
    @Test func aWelcomeInAnotherVersionEndsTheConnectionWithAReason() throws {
        var relay = try VirtualRelay(seed: 8)
        _ = try relay.addClient(clientID: 1, room: "a", timeoutSeconds: 10)
        var core = relay.clients[0].core
        #expect(core.phase == .connecting)
        core.handle(.welcomeInOtherVersion(protocolVersion: 2), now: relay.now)
        #expect(core.phase == .denied(.unsupportedProtocol))
        #expect(core.events.last == .denied(.unsupportedProtocol))
        #expect(core.otherProtocolVersion == 2)
        #expect(core.netcode.state != .connected && !core.netcode.state.isConnecting, "left: \(core.netcode.state)")
        #expect(core.nextDeadline == nil || !core.isActive)
    }

    @Test func aClientOfThisVersionJoinsAndReadsTheVersion() throws {
        var relay = try VirtualRelay(seed: 9)
        _ = try relay.addClient(clientID: 1, room: "a", timeoutSeconds: 10)
        relay.advance(by: .seconds(1))
        #expect(relay.clients[0].core.welcome != nil)
        #expect(relay.clients[0].core.otherProtocolVersion == nil)
    }
}
