import CTickwireMemory
import TickwireProtocol
import TickwireReliability

/// The relay server as a sans-IO machine: a netcode server, a `ChannelConnection` per client,
/// rooms of entities, and a fixed-rate tick that sends every client a delta snapshot.
///
/// * A client's room comes from its connect token (`RoomTicket` in user data). A room at
///   capacity denies the next client with `roomFull`, which the client reads, then disconnects it.
///   A worker among several hosts only the rooms placed on it (`hostedRooms`, set through
///   `host(room:)`); a token for any other room is denied with `roomNotHosted`, never given a new room.
/// * Each client owns one entity (id = its client slot) whose state is an opaque blob of at most
///   `maxStateSize` bytes, sent unreliably; the server keeps the newest.
/// * Reliable events go, in order, to the whole room or to one named client; joins and leaves
///   (disconnect, timeout, removal) reach the room as reliable events.
/// * Everything a client sends is hostile input checked against `RelayLimits` before it costs
///   anyone else: event size and rate before fan-out, all-or-nothing delivery, protocol
///   violations, and removal of clients that stop acking or only send keep-alives
///   (`ClientPolicing` holds each client's standing).
/// * `update(now:)` runs due ticks (`TickSchedule`), then writes every client's packets. Each
///   tick every admitted client is sent one snapshot of its room (`SnapshotEncoder`).
///
/// Inputs take `now`; datagrams leave through `outbound`, happenings through `events`.
public struct RelayServerCore {
    public enum Event: Equatable, Sendable {
        case joined(clientIndex: Int, clientID: UInt64, room: String, address: NetcodeAddress)
        case left(clientIndex: Int, clientID: UInt64, room: String, reason: NetcodeServer.DisconnectReason)
        /// The netcode server is full.
        case denied(clientID: UInt64, address: NetcodeAddress)
        /// The client's room is full: it was told so and will be disconnected.
        case roomFull(clientIndex: Int, clientID: UInt64, room: String)
        /// The client's room is not hosted here: it was told so and will be disconnected.
        case roomNotHosted(clientIndex: Int, clientID: UInt64, room: String)
        case requestIgnored(clientID: UInt64, address: NetcodeAddress, reason: NetcodeDropReason)
        /// A connection request dropped before its token was read (with `netcode.reportsRequestDrops`).
        case requestDropped(address: NetcodeAddress, reason: NetcodeDropReason)
        /// A client broke the relay's limits or stopped keeping up, and was disconnected.
        case removed(clientIndex: Int, clientID: UInt64, reason: RemovalReason, detail: String)
        /// One of a client's events was not relayed (the client is told at most once a second).
        case eventRefused(clientIndex: Int, clientID: UInt64, reason: RelayMessage.RefusalReason)
    }

    /// One connected client's relay state. A class, so that the tick and the updates mutate it in
    /// place through the slot table: a struct of this size (a connection, an encoder, their
    /// buffers) would be copied, retained and released on every access through an optional slot.
    private final class Client {
        let room: String
        let admitted: Bool
        // Release builds skip the dynamic exclusivity checks on these (a runtime call and a
        // thread-local access set on every access, several per client per tick); debug builds,
        // the tests', keep them, so an overlapping access still traps there.
        #if DEBUG
        var connection: ChannelConnection
        var encoder: SnapshotEncoder
        var policing: ClientPolicing
        #else
        @exclusivity(unchecked) var connection: ChannelConnection
        @exclusivity(unchecked) var encoder: SnapshotEncoder
        @exclusivity(unchecked) var policing: ClientPolicing
        #endif
        let denialDeadline: TickwireInstant?

        init(room: String, admitted: Bool, connection: ChannelConnection, encoder: SnapshotEncoder,
             denialDeadline: TickwireInstant? = nil, policing: ClientPolicing) {
            self.room = room
            self.admitted = admitted
            self.connection = connection
            self.encoder = encoder
            self.denialDeadline = denialDeadline
            self.policing = policing
        }

        /// How long the peer has gone without acking while packets await acks, and how long the
        /// oldest unacked reliable message has waited. Read in place (the connection's mutating
        /// `backlog`): a non-mutating call on `connection` copies the whole connection.
        func backlog(now: TickwireInstant) -> (stall: Duration, oldest: Duration) { connection.backlog(now: now) }

        /// Cache lines the object spans (its fields inline: the connection, the encoder).
        static let objectLines = (16 + MemoryLayout<String>.stride + 8 + MemoryLayout<ChannelConnection>.stride
            + MemoryLayout<SnapshotEncoder>.stride + MemoryLayout<ClientPolicing>.stride
            + MemoryLayout<TickwireInstant?>.stride + 63) / 64

        /// Hint: fetch what this client's snapshot of `tick` and its packets read beyond the object.
        func prefetchForTick(_ tick: UInt32) { Self.prefetch(&connection, &encoder, tick: tick) }

        /// Hint: fetch what a datagram from this client most likely reads beyond the object.
        func prefetchForReceive() { connection.prefetchForReceive() }

        private static func prefetch(_ connection: inout ChannelConnection, _ encoder: inout SnapshotEncoder, tick: UInt32) {
            connection.prefetchForWrite()
            encoder.prefetch(tick: tick)
        }

        func copy() -> Client {
            let made = Client(room: room, admitted: admitted, connection: connection, encoder: encoder,
                              denialDeadline: denialDeadline, policing: policing)
            return made
        }
    }

    /// Shared by copies of this core until one of them mutates: that one then clones its clients
    /// first (`ensureOwnClients`), so the core keeps value semantics though its clients are objects.
    private final class Ownership {}
    private var ownership = Ownership()

    public var netcode: NetcodeServer
    public let configuration: RelayConfiguration
    public private(set) var schedule: TickSchedule
    public var events: [Event] = []
    public private(set) var counters = Counters()
    /// Clients by netcode slot, as objects the core mutates in place (cloned by `ensureOwnClients`
    /// when a copy of the core first mutates).
    private var clients: [Client?]
    /// Slots with a client, ascending, so per-client loops skip empty slots without looking at them.
    private var occupied: [Int] = []
    /// Denied clients lingering until their denial is acknowledged.
    private var lingering: [Int] = []
    /// One room: its members and its views of its last `roomViewSlots` ticks (slot: tick mod
    /// that), which the members' encoders share as their baselines.
    private struct Room {
        let name: String
        /// Slots of the room's admitted clients, ascending (the order snapshots list entities in).
        var members: [Int] = []
        var views = Array(repeating: SnapshotView(), count: RelayServerCore.roomViewSlots)
    }
    /// The rooms with members, in the order they were opened (a closed room's place goes to the
    /// last one), so a tick walks them without hashing a name and in the same order every run.
    private var rooms: [Room] = []
    /// Each room's place in `rooms`.
    private var roomIndex: [String: Int] = [:]
    /// Where a `Room` holds its list of views, for the tick's hints (an instance constant: a
    /// static one would be a lazy global, checked on every use).
    private let roomViewsOffset = MemoryLayout<Room>.offset(of: \Room.views) ?? 0
    private static let roomViewSlots = SnapshotEncoder.ringSize + 1
    private var stateArena: [UInt8]
    private var stateLength: [Int]
    /// Each occupied slot's client id, beside the states: the tick reads one per member (netcode's
    /// slot, with its keys and replay window, would be a cold line each).
    private var slotClientIDs: [UInt64]
    /// Each slot's newest acknowledged snapshot tick (`UInt32.max`: none), beside the states: a
    /// tick reads a room's members' baselines from here to fetch the room's views of those ticks
    /// ahead of coding against them, without reading the clients. A hint only: a stale value
    /// fetches the wrong lines, never changes what is sent.
    private var baselineTicks: [UInt32]
    /// Each slot's channel deadline in nanoseconds (`UInt64.max`: none; 0: now), kept beside the
    /// clients so an update finds the few clients with something to write without touching the
    /// rest. Set after every change to a client's connection (a receive, a queued reliable
    /// message, a write).
    private var channelDue: [UInt64]
    /// Per slot: until when reliable messages queued and not yet written may wait (0: none held);
    /// see `markReliableQueued`.
    private var reliableHold: [UInt64]
    /// Payloads received during one `receive`, processed after it returns (the netcode server
    /// cannot be re-entered from its own payload callback).
    private var pending: [UInt8] = []
    private var pendingRecords: [(sender: Int, offset: Int, length: Int)] = []
    private var incomingStates: [UInt8] = []
    private var incomingSpans: [Range<Int>] = []
    /// The reliable messages one packet completed, each read where it lies (from `start`) and
    /// acted on once the connection has delivered them all: a notice back to the sender cannot
    /// be queued while its connection is delivering.
    private var incomingReliable: [UInt8] = []
    private var incomingRequests: [(start: Int, request: RelayMessage.ClientRequest?)] = []
    private var packet: [UInt8]
    private var snapshotBuffer: [UInt8]
    /// Entity entries coded once per room and tick for every member with the same baseline.
    private var deltaCache = RoomDeltaCache()
    /// A tick's clients in the order it serves them (room by room, as `rooms` lists them), and
    /// where each room's run ends.
    private var tickOrder: [Int] = []
    private var tickRoomEnds: [Int] = []
    /// The encoders' working lists, one set for all of them.
    private var encoderScratch = SnapshotEncoder.Scratch()
    private var toRemove: [(index: Int, reason: RemovalReason, detail: String)] = []
    /// Idle and backlog checks run at most this often (they look at every client).
    private static let livenessInterval: Duration = .milliseconds(100)
    /// How long after a tick a sweep that fell due in it runs.
    private static let sweepAfterTick: Duration = .microseconds(500)
    private var nextLivenessSweep = TickwireInstant.zero
    private var retiredEncoders = SnapshotEncoder.Counters()
    /// The clients' channel configuration, shared by their connections; nil if it is not valid
    /// (no client is admitted then).
    private let serverChannels: ChannelConnection.Settings?
    private let relayDelay: Duration

    public init(netcode: NetcodeServer, configuration: RelayConfiguration = RelayConfiguration(), start: TickwireInstant = .zero)
        throws(RelayConfigurationError)
    {
        try configuration.validate()
        serverChannels = try? ChannelConnection.Settings(configuration.serverChannels)
        relayDelay = configuration.effectiveRelayDelay
        self.netcode = netcode
        self.configuration = configuration
        schedule = TickSchedule(rate: configuration.tickRate, start: start)
        clients = Array(repeating: nil, count: netcode.maxClients)
        stateArena = [UInt8](repeating: 0, count: netcode.maxClients * configuration.maxStateSize)
        stateLength = Array(repeating: 0, count: netcode.maxClients)
        slotClientIDs = Array(repeating: 0, count: netcode.maxClients)
        baselineTicks = Array(repeating: .max, count: netcode.maxClients)
        channelDue = Array(repeating: .max, count: netcode.maxClients)
        reliableHold = Array(repeating: 0, count: netcode.maxClients)
        pending.reserveCapacity(Netcode.maxPayloadBytes * 4)
        pendingRecords.reserveCapacity(16)
        incomingStates.reserveCapacity(Netcode.maxPayloadBytes)
        incomingReliable.reserveCapacity(Netcode.maxPayloadBytes)
        incomingRequests.reserveCapacity(16)
        packet = [UInt8](repeating: 0, count: configuration.channels.maxPacketSize)
        snapshotBuffer = [UInt8](repeating: 0, count: configuration.channels.maxUnreliableSize)
    }

    public var outbound: OutboundQueue {
        get { netcode.outbound }
        _modify { yield &netcode.outbound }
    }

    public func room(of clientIndex: Int) -> String? {
        clients.indices.contains(clientIndex) && clients[clientIndex]?.admitted == true ? clients[clientIndex]!.room : nil
    }
    public func members(of room: String) -> [Int] { roomIndex[room].map { rooms[$0].members } ?? [] }

    /// The rooms this core admits clients to; nil (the default): any room a token names, created
    /// on first join. A worker placed by a `RoomDirectory` sets it and then hosts rooms one by one.
    public private(set) var hostedRooms: Set<String>?

    /// Admits clients to `room` from now on (and switches to hosting only placed rooms).
    public mutating func host(room: String) {
        hostPlacedRoomsOnly()
        hostedRooms!.insert(room)
    }

    /// Stops admitting new clients to `room`; its members stay until they leave.
    public mutating func release(room: String) { hostedRooms?.remove(room) }

    /// Hosts only the rooms given to `host(room:)` from now on, starting with none.
    public mutating func hostPlacedRoomsOnly() { if hostedRooms == nil { hostedRooms = [] } }

    /// Client ids of each room's members, for the placement directory's reports.
    public var membersByRoom: [String: [UInt64]] {
        Dictionary(uniqueKeysWithValues: rooms.map { room in (room.name, room.members.compactMap { netcode.clientID($0) }) })
    }
    public var roomCount: Int { rooms.count }
    public var admittedClientCount: Int { rooms.reduce(0) { $0 + $1.members.count } }

    /// The newest state the server holds for a client's entity.
    public func entityState(of clientIndex: Int) -> [UInt8]? {
        guard room(of: clientIndex) != nil else { return nil }
        let start = clientIndex * configuration.maxStateSize
        return Array(stateArena[start..<start + stateLength[clientIndex]])
    }

    /// What a client will reconstruct for `tick`, while the server still holds it.
    public func snapshotView(of clientIndex: Int, tick: UInt32) -> SnapshotView? {
        clients.indices.contains(clientIndex) ? clients[clientIndex]?.encoder.view(tick: tick) : nil
    }

    /// The link statistics of a connected client.
    public func linkStats(of clientIndex: Int) -> LinkStats? {
        clients.indices.contains(clientIndex) ? clients[clientIndex]?.connection.stats : nil
    }

    /// Every connected client's link statistics summed (rates and RTT averaged).
    public var linkTotals: LinkStats {
        var total = LinkStats()
        var count = 0.0
        for client in clients {
            guard let stats = client?.connection.stats else { continue }
            count += 1
            total.rttMilliseconds += stats.rttMilliseconds
            total.packetLossPercent += stats.packetLossPercent
            total.sentKbps += stats.sentKbps
            total.receivedKbps += stats.receivedKbps
            total.ackedKbps += stats.ackedKbps
            total.counters.add(stats.counters)
        }
        if count > 0 {
            total.rttMilliseconds /= count
            total.packetLossPercent /= count
        }
        return total
    }

    /// Snapshot counters of every client, present and gone.
    public var snapshotTotals: SnapshotEncoder.Counters {
        var total = retiredEncoders
        for client in clients { if let c = client?.encoder.counters { total.add(c) } }
        return total
    }

    /// A client's standing against the limits: strikes and violations not yet forgiven.
    public func standing(of clientIndex: Int) -> (strikes: Double, violations: Double)? {
        guard clients.indices.contains(clientIndex), let policing = clients[clientIndex]?.policing else { return nil }
        return (policing.strikes, policing.violations)
    }

    /// Reliable bytes queued to a client and not yet acknowledged.
    public func backlogBytes(of clientIndex: Int) -> Int? {
        clients.indices.contains(clientIndex) ? clients[clientIndex]?.connection.reliableBytesInFlight : nil
    }

    /// The next tick.
    public var nextTickDeadline: TickwireInstant { schedule.nextDeadline }

    /// When `update` next has work: the next tick, a client's reliable resend or delayed ack, a
    /// keep-alive or timeout, a denial to finish, the liveness sweep; and `relayDelay` after a
    /// `receive` that queued reliable messages (relayed events, joins, leaves, notices), unless a
    /// tick sends them first. A host wakes here instead of polling. Recomputed by every `update`.
    public private(set) var nextDeadline = TickwireInstant.zero
    /// Set when reliable messages were queued since the last update.
    private var queuedReliable = false
    /// The earliest channel deadline seen by the last `writePackets`.
    private var channelDeadline: TickwireInstant?

    public mutating func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, now: TickwireInstant) {
        ensureOwnClients()
        netcode.receive(datagram, from: address, now: now) { sender, payload in
            pendingRecords.append((sender, pending.count, payload.count))
            pending.append(contentsOf: payload)
        }
        processNetcodeEvents(now: now)
        processPending(now: now)
        removeMisbehaving(now: now)
        if queuedReliable { nextDeadline = min(nextDeadline, now + relayDelay) }
    }

    /// Hint: datagrams from `address` and then from the address of the previous hint are about
    /// to be received, in that order. The client of this one gets its netcode slot and object
    /// fetched; the client of the previous hint (whose slot and object should be in cache by
    /// now) gets what its connection will read. A host reading a batch hints two datagrams ahead.
    public mutating func prefetch(from address: NetcodeAddress) {
        if let previous = hintedSlot, let client = clients[previous] {
            client.prefetchForReceive()
            netcode.prefetchReplay(client: previous)
        }
        hintedSlot = netcode.prefetch(from: address)
        if let index = hintedSlot { prefetchClient(index) }
    }
    /// The slot of the last `prefetch(from:)`, whose second stage the next hint runs.
    private var hintedSlot: Int?

    /// Hint: fetch client `index`'s object (no-op for an empty slot).
    private mutating func prefetchClient(_ index: Int) {
        guard index >= 0, index < clients.count else { return }
        let offset = index &* MemoryLayout<Client?>.stride
        withUnsafeMutablePointer(to: &clients) { tickwire_prefetch_referenced_object($0, offset, Client.objectLines) }
    }

    public mutating func receive(_ datagram: [UInt8], from address: NetcodeAddress, now: TickwireInstant) {
        datagram.withUnsafeBytes { receive($0, from: address, now: now) }
    }

    /// Keep-alives and timeouts, the tick if one is due, then every client's packets.
    public mutating func update(now: TickwireInstant) {
        update(now: now, drainingEvery: 0) { _ in }
    }

    /// `update`, handing the outbound queue to `drain` during a tick whenever it holds at least
    /// `batch` datagrams (0: never), for the host to write them out and empty it: a tick's first
    /// snapshots leave while the rest are still being built, and the queue stays small enough to
    /// be in cache when it is written. What is left after the update is the host's, as ever.
    public mutating func update(now: TickwireInstant, drainingEvery batch: Int, _ drain: (inout OutboundQueue) -> Void) {
        ensureOwnClients()
        netcode.update(now: now)
        processNetcodeEvents(now: now)
        var ticked = false
        if let tick = schedule.poll(now: now) {
            runTick(tick, now: now, drainingEvery: batch, drain)
            ticked = true
        }
        writePackets(now: now)
        lingerDenied(now: now)
        if now >= nextLivenessSweep {
            if ticked && now - nextLivenessSweep < Self.sweepAfterTick {
                // Not in a tick's update: the sweep visits every client (cold memory at hundreds
                // of them) and would hold back the tick's snapshots. It runs just after, or, where
                // the host wakes for nothing between ticks (at 100 Hz and up), in the next tick:
                // a sweep already put off is overdue by then and is not put off again.
                nextLivenessSweep = now + Self.sweepAfterTick
            } else {
                nextLivenessSweep = now + Self.livenessInterval
                sweepLiveness(now: now)
            }
        }
        queuedReliable = false
        var deadline = min(schedule.nextDeadline, nextLivenessSweep)
        if let channels = channelDeadline { deadline = min(deadline, channels) }
        if let netcodeDeadline = netcode.nextDeadline() { deadline = min(deadline, netcodeDeadline) }
        for index in lingering { if let denial = clients[index]?.denialDeadline { deadline = min(deadline, denial) } }
        nextDeadline = deadline
    }

    /// Disconnects every client cleanly (10 disconnect packets each).
    public mutating func shutdown(now: TickwireInstant) {
        ensureOwnClients()
        netcode.disconnectAll(now: now)
        processNetcodeEvents(now: now)
    }

    // MARK: Tick

    private mutating func runTick(_ tick: UInt64, now: TickwireInstant, drainingEvery batch: Int, _ drain: (inout OutboundQueue) -> Void) {
        counters.ticks &+= 1
        let tickNumber = UInt32(truncatingIfNeeded: tick)
        let micros = UInt64((schedule.deadline(of: tick) - schedule.start).nanosecondsClamped / 1000)
        // Each room's view of this tick goes in the slot its views of `ringSize + 1` ticks ago held:
        // by now no client's encoder still shares that one (see `SnapshotEncoder`), so it is refilled
        // in place.
        let slot = Int(tickNumber % UInt32(Self.roomViewSlots))
        tickOrder.removeAll(keepingCapacity: true)
        tickRoomEnds.removeAll(keepingCapacity: true)
        for room in rooms.indices {
            // Taken out of the room while it is filled (swapped, not copied), so it is filled in place.
            var views: [SnapshotView] = []
            swap(&views, &rooms[room].views)
            views[slot].removeAll()
            for index in rooms[room].members {
                let start = index * configuration.maxStateSize
                stateArena.withUnsafeBytes { raw in
                    views[slot].append(id: UInt16(index), clientID: slotClientIDs[index],
                                       state: UnsafeRawBufferPointer(rebasing: raw[start..<start + stateLength[index]]))
                }
            }
            swap(&views, &rooms[room].views)
            tickOrder.append(contentsOf: rooms[room].members)
            tickRoomEnds.append(tickOrder.count)
        }
        // Every member of every room in turn. Each client's state is cold (hundreds of clients
        // outgrow the cache), so while one client is served the next ones' lines are fetched:
        // the object of the one after next, and what the next one's object points to.
        let count = tickOrder.count
        var room = -1
        var roomEnd = 0
        var view = SnapshotView()
        prefetchViewSlots(ofRoom: 1)
        prefetchBaselineViews(ofRoom: 0, slot: slot)
        for k in 0..<count {
            if k + 2 < count { prefetchClient(tickOrder[k + 2]) }
            if k + 1 < count { prefetchTick(of: tickOrder[k + 1], tick: tickNumber) }
            while k == roomEnd {
                room += 1
                roomEnd = tickRoomEnds[room]
                view = rooms[room].views[slot]
                deltaCache.reset(positions: view.count)
                prefetchBaselineViews(ofRoom: room + 1, slot: slot)
                prefetchViewSlots(ofRoom: room + 2)
            }
            let index = tickOrder[k]
            guard let client = clients[index] else { continue }
            writeSnapshot(to: client, index: index, tick: tickNumber, micros: micros, view: view, now: now)
            // The rest of what the client is owed goes now, while its state is in cache.
            writePackets(to: client, index: index, now: now)
            if batch > 0, netcode.outbound.count >= batch { drain(&netcode.outbound) }
        }
    }

    /// Hint: fetch the room's views of the ticks its members acknowledged last, which their
    /// snapshots are coded against (the first member with each baseline compares the whole room
    /// with it): a room ahead of the one being served. Each distinct tick once, or nearly.
    /// (`mutating` though it changes nothing: a non-mutating call, not inlined, is handed a copy
    /// of the whole core, 1.4 KB, on the stack.)
    private mutating func prefetchBaselineViews(ofRoom room: Int, slot: Int) {
        guard room < tickRoomEnds.count else { return }
        let start = room == 0 ? 0 : tickRoomEnds[room - 1]
        let current = rooms[room].views[slot]
        var last = UInt32.max, beforeLast = UInt32.max
        rooms[room].views.withUnsafeBufferPointer { views in
            guard let first = views.baseAddress else { return }
            for k in start..<tickRoomEnds[room] {
                let tick = baselineTicks[tickOrder[k]]
                guard tick != .max, tick != last, tick != beforeLast else { continue }
                (beforeLast, last) = (last, tick)
                SnapshotView.prefetch(first + Int(tick % UInt32(Self.roomViewSlots)), like: current)
            }
        }
    }

    /// Hint: fetch the room's list of views itself (a line per four views), which
    /// `prefetchBaselineViews` reads a room later to find the views' arrays. Reads only the list's
    /// reference, in `rooms`.
    private func prefetchViewSlots(ofRoom room: Int) {
        guard room < rooms.count else { return }
        let lines = (Self.roomViewSlots &* MemoryLayout<SnapshotView>.stride &+ 63) / 64
        rooms.withUnsafeBufferPointer { rooms in
            tickwire_prefetch_array_elements(UnsafeRawPointer(rooms.baseAddress! + room) + roomViewsOffset, 0, lines)
        }
    }

    /// Hint: fetch what serving client `index` at `tick` reads beyond its object (which an
    /// earlier hint fetched): its sent-packet record, snapshot ring slots and netcode slot.
    private mutating func prefetchTick(of index: Int, tick: UInt32) {
        guard let client = clients[index] else { return }
        client.prefetchForTick(tick)
        netcode.prefetch(client: index)
    }

    /// Sends `client` its snapshot of `tick` in the first packet with room for it, written in
    /// place: straight into the packet when the packet has a whole snapshot budget left (the
    /// usual case), else coded once aside and copied into the first packet it fits. A snapshot
    /// that fits no packet this update is superseded by the next tick's.
    private mutating func writeSnapshot(to client: Client, index: Int, tick: UInt32, micros: UInt64, view: SnapshotView, now: TickwireInstant) {
        let budget = snapshotBuffer.count
        /// Bytes coded aside and not yet placed; nil: not coded yet.
        var aside: Int?
        for _ in 0..<configuration.maxPacketsPerUpdate {
            var placed = false
            let length = packet.withUnsafeMutableBytes { buffer in
                client.connection.writePacket(into: buffer, now: now) { room in
                    if aside == nil, room.count >= budget {
                        let written = client.encoder.encode(
                            tick: tick, serverTimeMicros: micros, room: view, excluding: UInt16(index),
                            into: UnsafeMutableRawBufferPointer(rebasing: room[0..<budget]), cache: &deltaCache,
                            scratch: &encoderScratch)
                        aside = 0
                        placed = written > 0
                        return written
                    }
                    if aside == nil {
                        aside = snapshotBuffer.withUnsafeMutableBytes { scratch in
                            client.encoder.encode(
                                tick: tick, serverTimeMicros: micros, room: view, excluding: UInt16(index), into: scratch, cache: &deltaCache,
                                scratch: &encoderScratch)
                        }
                    }
                    guard let coded = aside, coded > 0, coded <= room.count else { return 0 }
                    snapshotBuffer.withUnsafeBytes { room.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<coded])) }
                    aside = 0
                    placed = true
                    return coded
                }
            }
            if length == 0 { break }
            if placed { client.connection.tagLastPacket(tick) }
            packet.withUnsafeBytes { raw in
                _ = try? netcode.sendPayload(index, UnsafeRawBufferPointer(rebasing: raw[0..<length]), now: now)
            }
            if aside == 0 { break }
        }
    }

    /// Writes the packets of every client whose channel deadline has come (at a tick, the room
    /// members it just served are not due again) and takes the earliest deadline of them all.
    private mutating func writePackets(now: TickwireInstant) {
        var earliest = UInt64.max
        for index in occupied {
            if channelDue[index] <= now.nanoseconds, let client = clients[index] { writePackets(to: client, index: index, now: now) }
            earliest = min(earliest, channelDue[index])
        }
        channelDeadline = earliest == .max ? nil : TickwireInstant(nanoseconds: earliest)
    }

    /// Writes what `client`'s connection has to send now (reliable records, an ack), at most
    /// `maxPacketsPerUpdate` packets, and notes its next deadline.
    private mutating func writePackets(to client: Client, index: Int, now: TickwireInstant) {
        for _ in 0..<configuration.maxPacketsPerUpdate {
            let length = packet.withUnsafeMutableBytes { client.connection.writePacket(into: $0, now: now) }
            if length == 0 { break }
            packet.withUnsafeBytes { raw in
                _ = try? netcode.sendPayload(index, UnsafeRawBufferPointer(rebasing: raw[0..<length]), now: now)
            }
        }
        client.connection.endTick()
        reliableHold[index] = 0
        noteChannelDeadline(of: client, index: index, now: now)
    }

    /// Records when `client`'s connection next has something to send unprompted: the channel's
    /// deadline, except that messages queued to it and not yet written wait out their hold.
    private mutating func noteChannelDeadline(of client: Client, index: Int, now: TickwireInstant) {
        var due = client.connection.update(now: now)?.nanoseconds ?? .max
        if due <= now.nanoseconds, reliableHold[index] > now.nanoseconds { due = reliableHold[index] }
        channelDue[index] = due
    }

    private mutating func lingerDenied(now: TickwireInstant) {
        guard !lingering.isEmpty else { return }
        for index in lingering {
            guard let client = clients[index], let deadline = client.denialDeadline else { continue }
            if client.connection.reliableMessagesInFlight == 0 || now >= deadline { netcode.disconnect(index, now: now) }
        }
        processNetcodeEvents(now: now)
    }

    // MARK: Receiving

    private mutating func processPending(now: TickwireInstant) {
        guard !pendingRecords.isEmpty else { return }
        for record in pendingRecords {
            let sender = record.sender
            guard let client = clients[sender] else { continue }
            incomingStates.removeAll(keepingCapacity: true)
            incomingSpans.removeAll(keepingCapacity: true)
            let verdict = pending.withUnsafeBytes { raw in
                client.connection.receive(UnsafeRawBufferPointer(rebasing: raw[record.offset..<record.offset + record.length]), now: now) { message in
                    incomingSpans.append(incomingStates.count..<incomingStates.count + message.count)
                    incomingStates.append(contentsOf: message)
                }
            }
            client.policing.lastPayload = now
            noteChannelDeadline(of: client, index: sender, now: now)
            if case .invalid = verdict {
                counters.invalidChannelPackets &+= 1
                violation(client, now: now)
            }
            if let tick = client.connection.newestAckedTag {
                client.encoder.acked(tick: tick)
                baselineTicks[sender] = client.encoder.newestAckedTick ?? .max
            }
            incomingReliable.removeAll(keepingCapacity: true)
            incomingRequests.removeAll(keepingCapacity: true)
            while client.connection.receiveReliable({ message -> Bool in
                incomingRequests.append((incomingReliable.count, RelayMessage.request(in: message)))
                incomingReliable.append(contentsOf: message)
                return true
            }) != nil {}
            for message in incomingRequests where message.request == nil {
                counters.malformedMessages &+= 1
                violation(client, now: now)
            }
            let admitted = client.admitted
            let room = client.room
            if admitted {
                for message in incomingRequests where message.request == .resync {
                    counters.resyncRequests &+= 1
                    client.encoder.resetBaseline()
                    baselineTicks[sender] = .max
                }
            }
            guard admitted else { continue }
            let senderID = slotClientIDs[sender]
            for k in incomingRequests.indices {
                guard let request = incomingRequests[k].request, request != .resync else { continue }
                relayEvent(request, at: incomingRequests[k].start, from: sender, senderID: senderID, room: room, now: now)
            }
            for span in incomingSpans { storeState(span, of: sender, now: now) }
            if let policing = clients[sender]?.policing {
                if policing.isViolating(configuration.limits) {
                    toRemove.append((sender, .protocolViolation, "\(Int(policing.violations)) protocol violations"))
                } else if policing.isAbusive(configuration.limits) {
                    toRemove.append((sender, .abuse, "\(Int(policing.strikes)) events over the rate limit"))
                }
            }
        }
        pending.removeAll(keepingCapacity: true)
        pendingRecords.removeAll(keepingCapacity: true)
    }

    private mutating func violation(_ client: Client, now: TickwireInstant) {
        counters.protocolViolations &+= 1
        client.policing.violate(limits: configuration.limits, now: now)
    }

    private mutating func violation(by index: Int, now: TickwireInstant) {
        guard clients[index] != nil else { return }
        counters.protocolViolations &+= 1
        clients[index]!.policing.violate(limits: configuration.limits, now: now)
    }

    private mutating func storeState(_ span: Range<Int>, of sender: Int, now: TickwireInstant) {
        // An empty unreliable message has no kind byte at all.
        guard !span.isEmpty, incomingStates[span.lowerBound] == RelayMessage.Kind.state else {
            counters.malformedMessages &+= 1
            violation(by: sender, now: now)
            return
        }
        let length = span.count - 1
        guard length <= configuration.maxStateSize else {
            counters.statesOversized &+= 1
            violation(by: sender, now: now)
            return
        }
        let start = sender * configuration.maxStateSize
        stateArena.replaceSubrange(start..<start + length, with: incomingStates[span.lowerBound + 1..<span.upperBound])
        stateLength[sender] = length
        counters.statesReceived &+= 1
    }

    /// Relays one event, checked before any fan-out: its size, the sender's rate, the recipient,
    /// and room in every recipient's queue. An event goes to all its recipients or to none. It is
    /// framed once, on the stack, from the bytes it came in (`incomingReliable` from `start`).
    private mutating func relayEvent(
        _ request: RelayMessage.ClientRequest, at start: Int, from sender: Int, senderID: UInt64, room: String, now: TickwireInstant
    ) {
        let payload: Range<Int>
        var recipient: UInt64?
        switch request {
        case .eventToRoom(let range):
            payload = range
        case .eventToClient(let clientID, let range):
            payload = range
            recipient = clientID
        case .resync, .notARequest:
            counters.malformedMessages &+= 1
            return violation(by: sender, now: now)
        }
        let limits = configuration.limits
        guard payload.count <= limits.maxEventBytes else {
            counters.eventsRefusedTooLarge &+= 1
            violation(by: sender, now: now)
            return refuse(sender, .eventTooLarge, now: now)
        }
        // Every event counts against the sender's rate, delivered or not.
        guard clients[sender]!.policing.admitEvent(bytes: payload.count, limits: limits, now: now) else {
            counters.eventsRefusedRateLimited &+= 1
            return refuse(sender, .rateLimited, now: now)
        }
        var target: Int?
        if let recipient {
            guard let index = netcode.clientIndex(forClientID: recipient), index != sender,
                  let peer = clients[index], peer.admitted, peer.room == room
            else {
                counters.eventsToUnknownClient &+= 1
                return refuse(sender, .unknownRecipient, now: now)
            }
            target = index
        }
        // The room's members read where they are (`members(of:)`, a non-mutating call, would be
        // handed a copy of this whole core).
        let members: [Int] = target == nil ? roomIndex[room].map { rooms[$0].members } ?? [] : []
        let peers = target == nil ? members.count : 1
        let framedLength = RelayMessage.eventOverhead + payload.count
        for k in 0..<peers {
            let peer = target ?? members[k]
            guard peer != sender, let client = clients[peer] else { continue }
            guard client.connection.canSendReliable(
                size: framedLength, leavingMessages: limits.controlHeadroomMessages, leavingBytes: limits.controlHeadroomBytes)
            else {
                counters.eventsRefusedRoomBusy &+= 1
                clients[sender]!.policing.strike(limits: limits, now: now)
                return refuse(sender, .roomBusy, now: now)
            }
        }
        withUnsafeTemporaryAllocation(byteCount: framedLength, alignment: 8) { buffer in
            let length = incomingReliable.withUnsafeBytes { raw in
                RelayMessage.writeEvent(
                    from: senderID, payload: UnsafeRawBufferPointer(rebasing: raw[start + payload.lowerBound..<start + payload.upperBound]),
                    into: buffer)
            }
            let framed = UnsafeRawBufferPointer(rebasing: buffer[..<length])
            for k in 0..<peers {
                let peer = target ?? members[k]
                if peer != sender { sendReliable(framed, to: peer, now: now, counted: true) }
            }
        }
    }

    /// Counts a refused event and tells the sender, at most once a second.
    private mutating func refuse(_ sender: Int, _ reason: RelayMessage.RefusalReason, now: TickwireInstant) {
        guard clients[sender] != nil, clients[sender]!.policing.mayNotify(now: now) else { return }
        events.append(.eventRefused(clientIndex: sender, clientID: netcode.clientID(sender) ?? 0, reason: reason))
        // The notice uses the control headroom; a sender whose queue is full does not get it.
        if (try? clients[sender]!.connection.sendReliable(RelayMessage.refused(reason).encoded())) != nil {
            markReliableQueued(sender, now: now)
        }
    }

    /// A reliable message queued to `peer` is due `relayDelay` from now: it rides on the next
    /// tick's snapshot when that comes first, and no earlier update (a keep-alive or liveness
    /// wake) sends it alone.
    private mutating func markReliableQueued(_ peer: Int, now: TickwireInstant) {
        if reliableHold[peer] <= now.nanoseconds { reliableHold[peer] = (now + relayDelay).nanoseconds }
        channelDue[peer] = min(channelDue[peer], reliableHold[peer])
        queuedReliable = true
    }

    private mutating func sendReliable(_ framed: [UInt8], to peer: Int, now: TickwireInstant) {
        framed.withUnsafeBytes { sendReliable($0, to: peer, now: now) }
    }

    private mutating func sendReliable(_ framed: UnsafeRawBufferPointer, to peer: Int, now: TickwireInstant, counted: Bool = false) {
        guard clients[peer] != nil else { return }
        do {
            try clients[peer]!.connection.sendReliable(framed)
            markReliableQueued(peer, now: now)
            if counted { counters.eventsRelayed &+= 1 }
        } catch {
            // Events leave headroom for notices, so only a client that stopped acking fills it.
            toRemove.append((peer, .backlogged, "\(error)"))
        }
    }

    /// Removes clients that stopped acknowledging while still sending (`backlogged`) or that
    /// send nothing but keep-alives (`idle`). A client we hear nothing from at all is left to
    /// netcode's timeout, so it leaves as `timed_out`.
    private mutating func sweepLiveness(now: TickwireInstant) {
        counters.livenessSweeps &+= 1
        let limits = configuration.limits
        for index in occupied {
            guard let client = clients[index], client.admitted else { continue }
            let lastPayload = client.policing.lastPayload
            if now - lastPayload >= limits.idleTimeout {
                if let heard = netcode.lastReceive(index), now - heard < .seconds(1) {
                    toRemove.append((index, .idle, "only keep-alives for \((now - lastPayload).millisecondsDouble.rounded()) ms"))
                }
                continue
            }
            guard now - lastPayload < .seconds(1) else { continue }
            let (stall, age) = client.backlog(now: now)
            if stall >= limits.ackTimeout {
                toRemove.append((index, .backlogged, "no ack for \(stall.millisecondsDouble.rounded()) ms while sending"))
            } else if age >= limits.reliableTimeout {
                toRemove.append((index, .backlogged, "reliable message unacked for \(age.millisecondsDouble.rounded()) ms"))
            }
        }
        removeMisbehaving(now: now)
    }

    private mutating func removeMisbehaving(now: TickwireInstant) {
        guard !toRemove.isEmpty else { return }
        let removing = toRemove
        toRemove.removeAll()
        for (index, reason, detail) in removing where clients[index] != nil && netcode.isConnected(index) {
            events.append(.removed(clientIndex: index, clientID: netcode.clientID(index) ?? 0, reason: reason, detail: detail))
            counters.countRemoval(reason)
            netcode.disconnect(index, now: now)
        }
        processNetcodeEvents(now: now)
    }

    // MARK: Joining and leaving

    private mutating func processNetcodeEvents(now: TickwireInstant) {
        guard !netcode.events.isEmpty else { return }
        let happened = netcode.events
        netcode.events.removeAll(keepingCapacity: true)
        for event in happened {
            switch event {
            case .clientConnected(let index, let clientID, let address, let userData):
                admit(index, clientID: clientID, address: address, room: RoomTicket.decode(userData: userData).room, now: now)
            case .clientDisconnected(let index, let clientID, _, let reason):
                guard let client = clients[index].take() else { continue }
                forget(index)
                channelDue[index] = .max
                reliableHold[index] = 0
                retiredEncoders.add(client.encoder.counters)
                stateLength[index] = 0
                guard client.admitted else { continue }
                let room = client.room
                leave(room, index)
                let why: RelayMessage.PeerLeftReason = switch reason {
                case .timedOut: .timedOut
                case .clientDisconnected: .disconnected
                case .serverDisconnected: .removedByServer
                }
                let left = RelayMessage.peerLeft(clientID: clientID, reason: why).encoded()
                for peer in members(of: room) { sendReliable(left, to: peer, now: now) }
                events.append(.left(clientIndex: index, clientID: clientID, room: room, reason: reason))
            case .connectionDenied(let clientID, let address):
                events.append(.denied(clientID: clientID, address: address))
            case .connectionRequestIgnored(let clientID, let address, let reason):
                events.append(.requestIgnored(clientID: clientID, address: address, reason: reason))
            case .connectionRequestDropped(let address, let reason):
                events.append(.requestDropped(address: address, reason: reason))
            }
        }
        if !toRemove.isEmpty { removeMisbehaving(now: now) }
    }

    private mutating func admit(_ index: Int, clientID: UInt64, address: NetcodeAddress, room: String, now: TickwireInstant) {
        guard let settings = serverChannels else { return }
        let connection = ChannelConnection(settings: settings)
        let policing = ClientPolicing(limits: configuration.limits, now: now)
        stateLength[index] = 0
        slotClientIDs[index] = clientID
        baselineTicks[index] = .max
        let present = members(of: room)
        let denial: RelayMessage.DenyReason? =
            hostedRooms.map { !$0.contains(room) } == true ? .roomNotHosted
            : present.count >= configuration.roomCapacity ? .roomFull : nil
        if let denial {
            clients[index] = Client(
                room: room, admitted: false, connection: connection, encoder: SnapshotEncoder(usesBaselines: false),
                denialDeadline: now + configuration.denialLinger, policing: policing)
            remember(index, lingering: true)
            sendReliable(RelayMessage.denied(denial).encoded(), to: index, now: now)
            switch denial {
            case .roomFull:
                counters.roomFullDenials &+= 1
                events.append(.roomFull(clientIndex: index, clientID: clientID, room: room))
            case .roomNotHosted:
                counters.roomNotHostedDenials &+= 1
                events.append(.roomNotHosted(clientIndex: index, clientID: clientID, room: room))
            case .unsupportedProtocol:
                break  // a client's verdict, never the server's
            }
            return
        }
        clients[index] = Client(
            room: room, admitted: true, connection: connection,
            encoder: SnapshotEncoder(usesBaselines: configuration.deltaCompression), policing: policing)
        remember(index, lingering: false)
        let welcome = RelayMessage.Welcome(
            entityID: UInt16(index), tickRate: UInt16(configuration.tickRate),
            maxStateSize: UInt16(configuration.maxStateSize), roomCapacity: UInt16(configuration.roomCapacity),
            maxEventBytes: UInt16(configuration.limits.maxEventBytes))
        sendReliable(RelayMessage.welcome(welcome).encoded(), to: index, now: now)
        let joined = RelayMessage.peerJoined(clientID: clientID, entityID: UInt16(index)).encoded()
        for peer in present {
            sendReliable(joined, to: peer, now: now)
            if let peerID = netcode.clientID(peer) {
                sendReliable(RelayMessage.peerJoined(clientID: peerID, entityID: UInt16(peer)).encoded(), to: index, now: now)
            }
        }
        join(room, index)
        events.append(.joined(clientIndex: index, clientID: clientID, room: room, address: address))
    }

    /// Adds slot `index` to `room`'s members (in slot order), opening the room if it has none.
    private mutating func join(_ room: String, _ index: Int) {
        let place: Int
        if let known = roomIndex[room] {
            place = known
        } else {
            place = rooms.count
            rooms.append(Room(name: room))
            roomIndex[room] = place
        }
        let position = rooms[place].members.firstIndex { $0 > index } ?? rooms[place].members.count
        rooms[place].members.insert(index, at: position)
    }

    /// Takes slot `index` out of `room`'s members, closing the room when it was the last: the
    /// last room takes its place. (Encoders that shared its views keep them while they need them.)
    private mutating func leave(_ room: String, _ index: Int) {
        guard let place = roomIndex[room] else { return }
        rooms[place].members.removeAll { $0 == index }
        guard rooms[place].members.isEmpty else { return }
        roomIndex[room] = nil
        let last = rooms.count - 1
        if place != last {
            rooms.swapAt(place, last)
            roomIndex[rooms[place].name] = place
        }
        rooms.removeLast()
    }

    /// A copied core (a simulation forked from a template) shares its client objects with the
    /// original until here: the first mutating call of a copy clones them.
    private mutating func ensureOwnClients() {
        guard !isKnownUniquelyReferenced(&ownership) else { return }
        ownership = Ownership()
        clients = clients.map { $0?.copy() }
    }

    private mutating func remember(_ index: Int, lingering denied: Bool) {
        forget(index)
        occupied.insert(index, at: occupied.firstIndex { $0 > index } ?? occupied.count)
        if denied { lingering.append(index) }
    }

    private mutating func forget(_ index: Int) {
        if let position = occupied.firstIndex(of: index) { occupied.remove(at: position) }
        if let position = lingering.firstIndex(of: index) { lingering.remove(at: position) }
    }
}
