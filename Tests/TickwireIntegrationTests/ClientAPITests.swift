import Foundation
import Testing
import TickwireClient
import TickwireProtocol

/// The Swift client API: `connect` gives up at its timeout or when its task is cancelled, and
/// the event stream ends with `.disconnected(reason)`.
@Suite(.timeLimit(.minutes(1)))
struct ClientAPITests {
    /// A token for a relay whose socket is closed: nothing will ever answer.
    static func deadRelayToken(timeoutSeconds: Int32 = 30) async throws -> [UInt8] {
        let server = try await Loopback.startServer()
        let token = try Loopback.token(for: server, clientID: 1, timeoutSeconds: timeoutSeconds)
        await server.socket.close()
        return token
    }

    @Test func connectGivesUpAtItsTimeout() async throws {
        let token = try await Self.deadRelayToken()
        let started = ContinuousClock.now
        await #expect(throws: TickwireClientError.timedOut(after: .milliseconds(300))) {
            _ = try await TickwireClient.connect(token: token, timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func connectStopsWhenItsTaskIsCancelled() async throws {
        let token = try await Self.deadRelayToken()
        let attempt = Task { try await TickwireClient.connect(token: token, timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        attempt.cancel()
        await #expect(throws: CancellationError.self) { _ = try await attempt.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        // Cancelled before it started: it fails at once.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await TickwireClient.connect(token: token, timeout: .seconds(60))
        }
        await #expect(throws: CancellationError.self) { _ = try await early.value }
    }

    @Test func theEventStreamEndsWithTheReasonItEnded() async throws {
        let server = try await Loopback.startServer()
        let client = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1))
        #expect(client.welcome.protocolVersion == 1 && client.welcome.maxEventBytes > 0)
        await client.disconnect()
        var last: TickwireClientEvent?
        for await event in client.events { last = event }
        #expect(last == .disconnected(.byClient))
        #expect(await client.state() == .disconnected(.byClient))
        await #expect(throws: TickwireClientError.notConnected) { try await client.sendEvent([1]) }
        try await server.shutdown()
    }
}
