import Testing
@testable import TickwireProtocol

/// Connection requests are decrypted within a budget per source address: a flood of valid
/// requests from one address is cut off before decryption, and other addresses are unaffected.
@Suite struct RequestBudgetTests {
    static func request(clientID: UInt64) -> [UInt8] {
        var client = NetcodeClient()
        client.connect(token: NetcodePair.token(clientID: clientID), now: .zero)
        client.update(now: .zero)
        return client.outbound.datagrams[0].bytes
    }

    @Test func oneAddressFloodingValidRequestsIsLimitedAndOthersStillGetChallenges() {
        var pair = NetcodePair(maxClients: 64)  // room for every pending mapping the test makes
        var configuration = pair.server.configuration
        configuration.requestsPerSecondPerAddress = 20
        configuration.requestBurstPerAddress = 40
        pair.server = try! NetcodeServer(configuration: configuration, unixTimeAtInstantZero: NetcodePair.unixStart)
        let flooder = NetcodeAddress.ipv4(203, 0, 113, 7, port: 1000)
        // Each request carries its own token (distinct MACs), so only the budget can stop them.
        let requests = (1...200).map { Self.request(clientID: UInt64($0)) }
        for (k, request) in requests.enumerated() {
            var from = flooder
            from.port = UInt16(1000 + k)  // a new port each time: the budget is per address, not per port
            pair.server.receive(request, from: from, now: .milliseconds(UInt64(k)))
        }
        let limited = pair.server.counters.dropped[.requestRateLimited]
        // 200 requests in 0.2 s: the burst of 40 plus about 20/s × 0.2 s got through.
        #expect(limited >= 150 && limited <= 160)
        #expect(pair.server.counters.challengesSent == 200 - limited)
        pair.server.receive(Self.request(clientID: 900), from: NetcodePair.clientAddress, now: .milliseconds(200))
        #expect(pair.server.counters.challengesSent == 201 - limited)
        // A second later the flooder's bucket has refilled by the rate.
        let before = pair.server.counters.challengesSent
        for k in 0..<30 {
            pair.server.receive(Self.request(clientID: UInt64(1000 + k)), from: flooder, now: .milliseconds(1200))
        }
        #expect((20...21).contains(pair.server.counters.challengesSent - before))
    }

    @Test func droppedRequestsAreReportedOnlyWhenAskedFor() {
        var pair = NetcodePair()
        var expired = NetcodeClient()
        expired.connect(token: NetcodePair.token(clientID: 5, expireSeconds: 1), now: .zero)
        expired.update(now: .zero)
        let request = expired.outbound.datagrams[0].bytes
        pair.server.receive(request, from: NetcodePair.clientAddress, now: .seconds(5))
        #expect(pair.server.events.isEmpty)
        pair.server.reportsRequestDrops = true
        pair.server.receive(request, from: NetcodePair.clientAddress, now: .seconds(5))
        #expect(pair.server.events == [.connectionRequestDropped(address: NetcodePair.clientAddress, reason: .connectTokenExpired)])
    }
}
