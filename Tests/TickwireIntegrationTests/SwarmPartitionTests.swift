import Testing
@testable import TickwireSwarm

/// How a swarm's bots are split over workers: contiguous, whole rooms, nobody twice or left out.
@Suite struct SwarmPartitionTests {
    @Test(arguments: [(100, 8, 2), (100, 8, 3), (7, 8, 4), (64, 8, 8), (65, 8, 8), (1, 1, 1), (1000, 32, 2)])
    func workersGetWholeRoomsAndEveryBotOnce(bots: Int, botsPerRoom: Int, workers: Int) {
        let ranges = SwarmWorkers.partition(bots: bots, botsPerRoom: botsPerRoom, workers: workers)
        #expect(ranges.first?.lowerBound == 0)
        #expect(ranges.last?.upperBound == bots)
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        for range in ranges.dropLast() { #expect(range.upperBound % botsPerRoom == 0, "a room was split: \(ranges)") }
        #expect(ranges.count == min(workers, (bots + botsPerRoom - 1) / botsPerRoom))
        let sizes = ranges.map(\.count)
        #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= botsPerRoom, "rooms are spread evenly: \(sizes)")
    }
}
