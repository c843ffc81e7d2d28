import CoreMetrics
import Metrics
import Prometheus
import TickwireProtocol
import TickwireRelay

/// The relay's figures as swift-metrics instruments backed by a Prometheus registry: clients,
/// rooms, ticks, late and skipped ticks, tick duration, bytes and packets in and out, drops by
/// reason, resends, snapshots. The driver feeds it on its event loop: tick durations as they
/// happen, everything else as deltas of `RelayServerStats` once a second.
public final class RelayMetrics: @unchecked Sendable {
    // @unchecked: `last` and `dropCounters` are only touched from the relay's event loop; the
    // swift-metrics instruments and the registry are thread-safe themselves.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let clients, rooms: CoreMetrics.Gauge
    private let ticks, lateTicks, skippedTicks: CoreMetrics.Counter
    private let tickDuration: CoreMetrics.Timer
    private let bytesIn, bytesOut, packetsIn, packetsOut: CoreMetrics.Counter
    private let resends, eventsRelayed, snapshots, snapshotBytes, entitiesDeferred, roomFull, roomNotHosted, removed: CoreMetrics.Counter
    private var dropCounters: [String: CoreMetrics.Counter] = [:]
    private let removedByReason: [(RemovalReason, CoreMetrics.Counter)]
    private let refusedByReason: [(RelayMessage.RefusalReason, CoreMetrics.Counter)]
    private var last: RelayServerStats?

    /// The labels every instrument carries: `worker="i"` when the process runs several workers.
    private let labels: [(String, String)]

    /// Instruments for one relay; workers of one process share a `registry` and differ by `worker`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), worker: Int? = nil) {
        self.registry = registry
        let labels = worker.map { [("worker", "\($0)")] } ?? []
        self.labels = labels
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["tickwire_tick_duration_seconds"] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(4), .milliseconds(8), .milliseconds(16), .milliseconds(33),
        ]
        self.factory = factory
        clients = CoreMetrics.Gauge(label: "tickwire_clients", dimensions: labels, factory: factory)
        rooms = CoreMetrics.Gauge(label: "tickwire_rooms", dimensions: labels, factory: factory)
        ticks = CoreMetrics.Counter(label: "tickwire_ticks_total", dimensions: labels, factory: factory)
        lateTicks = CoreMetrics.Counter(label: "tickwire_late_ticks_total", dimensions: labels, factory: factory)
        skippedTicks = CoreMetrics.Counter(label: "tickwire_skipped_ticks_total", dimensions: labels, factory: factory)
        tickDuration = CoreMetrics.Timer(label: "tickwire_tick_duration_seconds", dimensions: labels, factory: factory)
        bytesIn = CoreMetrics.Counter(label: "tickwire_bytes_in_total", dimensions: labels, factory: factory)
        bytesOut = CoreMetrics.Counter(label: "tickwire_bytes_out_total", dimensions: labels, factory: factory)
        packetsIn = CoreMetrics.Counter(label: "tickwire_packets_in_total", dimensions: labels, factory: factory)
        packetsOut = CoreMetrics.Counter(label: "tickwire_packets_out_total", dimensions: labels, factory: factory)
        resends = CoreMetrics.Counter(label: "tickwire_reliable_resends_total", dimensions: labels, factory: factory)
        eventsRelayed = CoreMetrics.Counter(label: "tickwire_events_relayed_total", dimensions: labels, factory: factory)
        snapshots = CoreMetrics.Counter(label: "tickwire_snapshots_total", dimensions: labels, factory: factory)
        snapshotBytes = CoreMetrics.Counter(label: "tickwire_snapshot_bytes_total", dimensions: labels, factory: factory)
        entitiesDeferred = CoreMetrics.Counter(label: "tickwire_snapshot_entities_deferred_total", dimensions: labels, factory: factory)
        roomFull = CoreMetrics.Counter(label: "tickwire_room_full_denials_total", dimensions: labels, factory: factory)
        roomNotHosted = CoreMetrics.Counter(label: "tickwire_room_not_hosted_denials_total", dimensions: labels, factory: factory)
        removed = CoreMetrics.Counter(label: "tickwire_clients_removed_total", dimensions: labels, factory: factory)
        removedByReason = RemovalReason.allCases.map {
            ($0, CoreMetrics.Counter(label: "tickwire_clients_removed_by_reason_total", dimensions: labels + [("reason", $0.rawValue)], factory: factory))
        }
        refusedByReason = RelayMessage.RefusalReason.allCases.map {
            ($0, CoreMetrics.Counter(label: "tickwire_events_refused_total", dimensions: labels + [("reason", $0.label)], factory: factory))
        }
    }

    /// The text exposition format, for `GET /metrics`.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    func recordTick(_ duration: Duration) { tickDuration.recordNanoseconds(duration.nanosecondsClamped) }

    func record(_ stats: RelayServerStats) {
        clients.record(stats.connectedClients)
        rooms.record(stats.rooms)
        let previous = last
        func add(_ counter: CoreMetrics.Counter, _ now: UInt64, _ before: UInt64?) {
            let delta = now &- (before ?? 0)
            if delta > 0, delta < UInt64(Int64.max) { counter.increment(by: Int64(delta)) }
        }
        add(ticks, stats.ticks, previous?.ticks)
        add(lateTicks, stats.lateTicks, previous?.lateTicks)
        add(skippedTicks, stats.skippedTicks, previous?.skippedTicks)
        add(bytesIn, stats.bytesRead, previous?.bytesRead)
        add(bytesOut, stats.bytesWritten, previous?.bytesWritten)
        add(packetsIn, stats.datagramsRead, previous?.datagramsRead)
        add(packetsOut, stats.datagramsWritten, previous?.datagramsWritten)
        add(resends, stats.links.counters.reliableResends, previous?.links.counters.reliableResends)
        add(eventsRelayed, stats.relay.eventsRelayed, previous?.relay.eventsRelayed)
        add(snapshots, stats.snapshots.snapshots, previous?.snapshots.snapshots)
        add(snapshotBytes, stats.snapshots.bytes, previous?.snapshots.bytes)
        add(entitiesDeferred, stats.snapshots.entitiesDeferred, previous?.snapshots.entitiesDeferred)
        add(roomFull, stats.relay.roomFullDenials, previous?.relay.roomFullDenials)
        add(roomNotHosted, stats.relay.roomNotHostedDenials, previous?.relay.roomNotHostedDenials)
        add(removed, stats.relay.clientsRemoved, previous?.relay.clientsRemoved)
        for (reason, counter) in removedByReason { add(counter, stats.relay.removed(reason), previous?.relay.removed(reason)) }
        for (reason, counter) in refusedByReason { add(counter, stats.relay.refused(reason), previous?.relay.refused(reason)) }
        let before = previous.map(Self.drops) ?? [:]
        for (reason, count) in Self.drops(stats) {
            let counter = dropCounters[reason] ?? {
                let made = CoreMetrics.Counter(label: "tickwire_dropped_total", dimensions: labels + [("reason", reason)], factory: factory)
                dropCounters[reason] = made
                return made
            }()
            add(counter, count, before[reason])
        }
        last = stats
    }

    /// Everything dropped, by reason: netcode packets, channel packets, relay messages.
    private static func drops(_ stats: RelayServerStats) -> [String: UInt64] {
        var drops: [String: UInt64] = [:]
        for (reason, count) in stats.netcode.dropped.nonZero { drops["\(reason)"] = count }
        if stats.relay.invalidChannelPackets > 0 { drops["invalid_channel_packet"] = stats.relay.invalidChannelPackets }
        if stats.relay.malformedMessages > 0 { drops["malformed_relay_message"] = stats.relay.malformedMessages }
        if stats.relay.statesOversized > 0 { drops["oversized_state"] = stats.relay.statesOversized }
        if stats.datagramsNotSent > 0 { drops["send_failed"] = stats.datagramsNotSent }
        return drops
    }
}
