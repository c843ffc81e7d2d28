import Testing
import TickwirePlacement

@Suite struct PlacementTableTests {
    private func placed(_ result: Result<PlacementTable.Placement, PlacementTable.Refusal>) -> PlacementTable.Placement? {
        if case .success(let p) = result { return p }
        return nil
    }

    @Test func newRoomsSpreadOverWorkersByHeadroom() {
        var table = PlacementTable(workerCapacities: [100, 100, 100], roomCapacity: 8)
        var perWorker = [0, 0, 0]
        for r in 0..<12 {
            for c in 0..<8 {
                let p = placed(table.reserve(room: "room-\(r)", clientID: UInt64(r * 8 + c), expiresAt: 100, now: 0))
                #expect(p != nil)
                if c == 0, let p { perWorker[p.worker] += 1; #expect(p.newRoom) }
                if c > 0 { #expect(p?.newRoom == false) }
            }
        }
        #expect(perWorker == [4, 4, 4])
    }

    @Test func aBusyTickSteersNewRoomsAway() {
        var table = PlacementTable(workerCapacities: [100, 100], roomCapacity: 8)
        table.report(worker: 0, connected: 10, tickLoad: 0.9, members: [:], now: 0)
        table.report(worker: 1, connected: 30, tickLoad: 0.1, members: [:], now: 0)
        #expect(placed(table.reserve(room: "a", clientID: 1, expiresAt: 100, now: 0))?.worker == 1)
    }

    @Test func aFullRoomRefusesTheNextSeatAndAMemberKeepsItsOwn() {
        var table = PlacementTable(workerCapacities: [100], roomCapacity: 2)
        #expect(placed(table.reserve(room: "a", clientID: 1, expiresAt: 100, now: 0)) != nil)
        #expect(placed(table.reserve(room: "a", clientID: 2, expiresAt: 100, now: 0)) != nil)
        #expect(table.reserve(room: "a", clientID: 3, expiresAt: 100, now: 0) == .failure(.roomFull))
        // A second token for a client that holds a seat is fine.
        #expect(placed(table.reserve(room: "a", clientID: 2, expiresAt: 150, now: 1)) != nil)
        #expect(table.rooms["a"]?.reservations[2] == 150)
    }

    @Test func aReservationExpiresAndFreesItsSeat() {
        var table = PlacementTable(workerCapacities: [100], roomCapacity: 1, emptyGrace: 30)
        #expect(placed(table.reserve(room: "a", clientID: 1, expiresAt: 10, now: 0)) != nil)
        #expect(table.reserve(room: "a", clientID: 2, expiresAt: 20, now: 5) == .failure(.roomFull))
        #expect(placed(table.reserve(room: "a", clientID: 2, expiresAt: 20, now: 10)) != nil)
        #expect(table.freeSlots(of: 0) == 99)
        // Nobody connects: the room empties when the reservation expires and is released after the grace.
        #expect(table.expire(now: 20).isEmpty)
        #expect(table.rooms["a"]?.emptySince == 20)
        #expect(table.expire(now: 49).isEmpty)
        #expect(table.expire(now: 50).map(\.room) == ["a"])
        #expect(table.rooms["a"] == nil)
    }

    @Test func membersTakeTheirReservationsAndKeepTheRoomPlaced() {
        var table = PlacementTable(workerCapacities: [10, 10], roomCapacity: 4, emptyGrace: 5)
        let worker = placed(table.reserve(room: "a", clientID: 1, expiresAt: 10, now: 0))!.worker
        #expect(table.freeSlots(of: worker) == 9)
        table.report(worker: worker, connected: 1, tickLoad: 0, members: ["a": [1]], now: 1)
        #expect(table.rooms["a"]?.reservations.isEmpty == true)
        #expect(table.freeSlots(of: worker) == 9)  // connected now, not reserved
        // Long after the token expired the member is still there: the room stays.
        #expect(table.expire(now: 100).isEmpty)
        table.report(worker: worker, connected: 0, tickLoad: 0, members: [:], now: 100)
        #expect(table.expire(now: 104).isEmpty)
        #expect(table.expire(now: 105).map(\.worker) == [worker])
    }

    @Test func noWorkerWithAFreeSlotMeansNoCapacity() {
        var table = PlacementTable(workerCapacities: [1, 1], roomCapacity: 8)
        #expect(placed(table.reserve(room: "a", clientID: 1, expiresAt: 10, now: 0)) != nil)
        #expect(placed(table.reserve(room: "b", clientID: 2, expiresAt: 10, now: 0)) != nil)
        #expect(table.reserve(room: "c", clientID: 3, expiresAt: 10, now: 0) == .failure(.noCapacity))
        // Room a has seats, but its worker has no slot left.
        #expect(table.reserve(room: "a", clientID: 4, expiresAt: 10, now: 0) == .failure(.noCapacity))
    }

    @Test func aRoomAWorkerAdmittedByItselfIsAdopted() {
        var table = PlacementTable(workerCapacities: [10, 10], roomCapacity: 4)
        table.report(worker: 1, connected: 2, tickLoad: 0, members: ["lobby": [5, 6]], now: 0)
        #expect(table.rooms["lobby"]?.worker == 1)
        #expect(placed(table.reserve(room: "lobby", clientID: 7, expiresAt: 10, now: 0))?.worker == 1)
    }

    /// Many concurrent joins, several for each new room: each room lands on exactly one worker,
    /// and every join for it is told that worker.
    @Test func concurrentJoinsForOneNewRoomLandOnOneWorker() async {
        let directory = InMemoryRoomDirectory(table: PlacementTable(workerCapacities: [500, 500, 500, 500], roomCapacity: 16))
        let results = await withTaskGroup(of: (String, Int?).self) { group in
            for room in 0..<40 {
                for client in 0..<8 {
                    group.addTask {
                        let name = "room-\(room)"
                        let result = await directory.reserve(room: name, clientID: UInt64(room * 100 + client), expiresAt: 60, now: 0)
                        if case .success(let p) = result { return (name, p.worker) }
                        return (name, nil)
                    }
                }
            }
            var all: [(String, Int?)] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 320)
        #expect(results.allSatisfy { $0.1 != nil })
        let byRoom = Dictionary(grouping: results, by: \.0).mapValues { Set($0.compactMap(\.1)) }
        #expect(byRoom.values.allSatisfy { $0.count == 1 })
        let summaries = await directory.rooms()
        #expect(summaries.count == 40)
        #expect(summaries.allSatisfy { $0.reserved == 8 && byRoom[$0.room] == [$0.worker] })
        #expect(Set(summaries.map(\.worker)).count == 4)
    }
}
