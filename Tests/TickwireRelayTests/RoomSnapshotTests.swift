import Testing
import TickwireRelay

/// A room snapshot read in place and as values gives the same entities, in entity-id order.
@Suite struct RoomSnapshotTests {
    @Test func inPlaceAndValueReadsAgreeAndKeepEntityOrder() {
        let given = [
            RoomEntity(entityID: 9, clientID: 90, state: [9, 9]),
            RoomEntity(entityID: 2, clientID: 20, state: []),
            RoomEntity(entityID: 5, clientID: 50, state: [5, 5, 5]),
            RoomEntity(entityID: 2, clientID: 21, state: [1]),  // a repeated id: the first one stays
        ]
        let snapshot = RoomSnapshot(tick: 7, serverTime: .milliseconds(116), entities: given)
        var seen: [RoomEntity] = []
        snapshot.forEachEntity { id, clientID, state in seen.append(RoomEntity(entityID: id, clientID: clientID, state: Array(state))) }
        #expect(seen.map(\.entityID) == [2, 5, 9])
        #expect(seen == snapshot.entities)
        #expect(snapshot.entityCount == 3)
        #expect(snapshot.entity(clientID: 50)?.state == [5, 5, 5])
        #expect(snapshot.entity(clientID: 20)?.state == [])
        #expect(snapshot.entity(clientID: 21) == nil)
    }
}
