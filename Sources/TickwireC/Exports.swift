import CTickwire
import TickwireProtocol
import TickwireRelay
import TickwireReliability

// The C entry points of tickwire.h. Each one is total: it checks its handle, pointers, sizes
// and time before touching anything, and reports a tickwire_error instead of trapping.

private func instant(_ seconds: Double) -> TickwireInstant? {
    guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return nil }
    return TickwireInstant(nanoseconds: UInt64(seconds * 1e9))
}

private func code(_ error: tickwire_error) -> Int32 { error.rawValue }

private func code(_ error: RelayClientError) -> Int32 {
    switch error {
    case .notJoined: code(TICKWIRE_ERROR_NOT_JOINED)
    case .stateTooLarge, .eventTooLarge: code(TICKWIRE_ERROR_TOO_LARGE)
    case .send(let refusal):
        switch refusal {
        case .messageTooLarge: code(TICKWIRE_ERROR_TOO_LARGE)
        default: code(TICKWIRE_ERROR_QUEUE_FULL)
        }
    }
}

/// `bytes` as a buffer when the pointer and length make sense (NULL only with length 0).
private func buffer(_ bytes: UnsafePointer<UInt8>?, _ length: Int) -> UnsafeRawBufferPointer? {
    guard length >= 0, length <= 1 << 24 else { return nil }
    guard let bytes else { return length == 0 ? UnsafeRawBufferPointer(start: nil, count: 0) : nil }
    return UnsafeRawBufferPointer(start: bytes, count: length)
}

@_cdecl("tickwire_protocol_version")
public func tickwire_protocol_version() -> UInt16 { RelayMessage.protocolVersion }

@_cdecl("tickwire_error_string")
public func tickwire_error_string(_ value: Int32) -> UnsafePointer<CChar> {
    let text: StaticString =
        switch value {
        case TICKWIRE_OK.rawValue: "ok"
        case TICKWIRE_ERROR_INVALID_HANDLE.rawValue: "invalid handle (NULL, freed, or not a client)"
        case TICKWIRE_ERROR_INVALID_ARGUMENT.rawValue: "invalid argument (a NULL pointer, a bad size or a bad time)"
        case TICKWIRE_ERROR_INVALID_TOKEN.rawValue: "invalid connect token (not a 2048-byte netcode 1.02 token)"
        case TICKWIRE_ERROR_NOT_JOINED.rawValue: "not in a room"
        case TICKWIRE_ERROR_TOO_LARGE.rawValue: "too large (over the welcome's state size or event size)"
        case TICKWIRE_ERROR_QUEUE_FULL.rawValue: "the reliable send queue is full: try again later"
        case TICKWIRE_ERROR_SOCKET.rawValue: "the UDP socket could not be opened or used"
        case TICKWIRE_ERROR_BUFFER_TOO_SMALL.rawValue: "the buffer is too small: see the length reported"
        case TICKWIRE_ERROR_ALREADY_CONNECTING.rawValue: "connect was already called on this client"
        default: "unknown code"
        }
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("tickwire_client_create")
public func tickwire_client_create() -> OpaquePointer? {
    guard let handle = try? ClientHandle() else { return nil }
    return Handles.register(handle)
}

@_cdecl("tickwire_client_free")
public func tickwire_client_free(_ client: OpaquePointer?) -> Int32 {
    Handles.release(client) ? code(TICKWIRE_OK) : code(TICKWIRE_ERROR_INVALID_HANDLE)
}

@_cdecl("tickwire_client_connect")
public func tickwire_client_connect(_ client: OpaquePointer?, _ token: UnsafePointer<UInt8>?, _ length: Int, _ now: Double) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let at = instant(now), let bytes = buffer(token, length) else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    guard !handle.connecting else { return code(TICKWIRE_ERROR_ALREADY_CONNECTING) }
    guard bytes.count == Netcode.connectTokenBytes, let decoded = try? ConnectToken.decode(Array(bytes)) else {
        return code(TICKWIRE_ERROR_INVALID_TOKEN)
    }
    return handle.connect(token: decoded, now: at)
}

@_cdecl("tickwire_client_poll")
public func tickwire_client_poll(_ client: OpaquePointer?, _ now: Double) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let at = instant(now) else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    return handle.poll(now: at)
}

@_cdecl("tickwire_client_next_wake")
public func tickwire_client_next_wake(_ client: OpaquePointer?, _ wake: UnsafeMutablePointer<Double>?) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let wake else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    guard let next = handle.nextWake else { return code(TICKWIRE_ERROR_NOT_JOINED) }
    wake.pointee = Double(next.nanoseconds) / 1e9
    return code(TICKWIRE_OK)
}

@_cdecl("tickwire_client_state")
public func tickwire_client_state(_ client: OpaquePointer?) -> Int32 {
    Handles.find(client)?.state ?? code(TICKWIRE_ERROR_INVALID_HANDLE)
}

@_cdecl("tickwire_client_disconnect")
public func tickwire_client_disconnect(_ client: OpaquePointer?, _ now: Double) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let at = instant(now) else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    handle.disconnect(now: at)
    return code(TICKWIRE_OK)
}

@_cdecl("tickwire_client_welcome")
public func tickwire_client_welcome(_ client: OpaquePointer?, _ out: UnsafeMutablePointer<tickwire_welcome>?) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let out else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    guard let welcome = handle.core.welcome else { return code(TICKWIRE_ERROR_NOT_JOINED) }
    out.pointee = tickwire_welcome(
        protocol_version: RelayMessage.protocolVersion, entity_id: welcome.entityID, tick_rate: welcome.tickRate,
        max_state_size: welcome.maxStateSize, room_capacity: welcome.roomCapacity, max_event_bytes: welcome.maxEventBytes)
    return code(TICKWIRE_OK)
}

@_cdecl("tickwire_client_send_state")
public func tickwire_client_send_state(_ client: OpaquePointer?, _ state: UnsafePointer<UInt8>?, _ length: Int) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let bytes = buffer(state, length) else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    do throws(RelayClientError) { try handle.core.sendState(bytes) } catch { return code(error) }
    return code(TICKWIRE_OK)
}

@_cdecl("tickwire_client_send_event")
public func tickwire_client_send_event(_ client: OpaquePointer?, _ payload: UnsafePointer<UInt8>?, _ length: Int) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let bytes = buffer(payload, length) else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    do throws(RelayClientError) { try handle.core.sendEvent(Array(bytes)) } catch { return code(error) }
    return code(TICKWIRE_OK)
}

@_cdecl("tickwire_client_send_event_to")
public func tickwire_client_send_event_to(
    _ client: OpaquePointer?, _ recipient: UInt64, _ payload: UnsafePointer<UInt8>?, _ length: Int
) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let bytes = buffer(payload, length) else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    do throws(RelayClientError) { try handle.core.sendEvent(Array(bytes), to: recipient) } catch { return code(error) }
    return code(TICKWIRE_OK)
}

@_cdecl("tickwire_client_next_event")
public func tickwire_client_next_event(
    _ client: OpaquePointer?, _ out: UnsafeMutablePointer<tickwire_event>?, _ payload: UnsafeMutablePointer<UInt8>?, _ capacity: Int
) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let out, capacity >= 0, payload != nil || capacity == 0 else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    guard handle.eventHead < handle.pending.count else { return 0 }
    var event = tickwire_event()
    var body: [UInt8] = []
    switch handle.pending[handle.eventHead] {
    case .joined:
        event.type = Int32(TICKWIRE_EVENT_JOINED.rawValue)
    case .denied(let reason):
        event.type = Int32(TICKWIRE_EVENT_DENIED.rawValue)
        event.reason = Int32(reason.rawValue)
    case .peerJoined(let id, let entity):
        event.type = Int32(TICKWIRE_EVENT_PEER_JOINED.rawValue)
        event.client_id = id
        event.entity_id = entity
    case .peerLeft(let id, let reason):
        event.type = Int32(TICKWIRE_EVENT_PEER_LEFT.rawValue)
        event.client_id = id
        event.reason = Int32(reason.rawValue)
    case .event(let from, let bytes):
        event.type = Int32(TICKWIRE_EVENT_MESSAGE.rawValue)
        event.client_id = from
        body = bytes
    case .refused(let reason):
        event.type = Int32(TICKWIRE_EVENT_REFUSED.rawValue)
        event.reason = Int32(reason.rawValue)
    case .ended(let state):
        event.type = Int32(TICKWIRE_EVENT_ENDED.rawValue)
        event.reason = Int32(state.rawValue)
    }
    event.payload_length = body.count
    guard body.count <= capacity else {
        out.pointee = event
        return code(TICKWIRE_ERROR_BUFFER_TOO_SMALL)
    }
    if let payload, !body.isEmpty { body.withUnsafeBufferPointer { payload.update(from: $0.baseAddress!, count: body.count) } }
    out.pointee = event
    handle.eventHead += 1
    return 1
}

@_cdecl("tickwire_client_snapshot")
public func tickwire_client_snapshot(_ client: OpaquePointer?, _ tick: UnsafeMutablePointer<UInt32>?, _ count: UnsafeMutablePointer<UInt32>?) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let tick, let count else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    let snapshot = handle.core.latestSnapshot
    tick.pointee = snapshot?.tick ?? 0
    count.pointee = UInt32(snapshot?.entityCount ?? 0)
    return code(TICKWIRE_OK)
}

@_cdecl("tickwire_client_snapshot_entity")
public func tickwire_client_snapshot_entity(
    _ client: OpaquePointer?, _ index: UInt32, _ entityID: UnsafeMutablePointer<UInt16>?, _ clientID: UnsafeMutablePointer<UInt64>?,
    _ state: UnsafeMutablePointer<UInt8>?, _ capacity: Int, _ stateLength: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard capacity >= 0, state != nil || capacity == 0 else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    guard let snapshot = handle.core.latestSnapshot else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    let result = snapshot.withEntity(at: Int(index)) { id, owner, bytes -> Int32 in
        entityID?.pointee = id
        clientID?.pointee = owner
        stateLength?.pointee = bytes.count
        guard bytes.count <= capacity else { return code(TICKWIRE_ERROR_BUFFER_TOO_SMALL) }
        if let state, let base = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(state).copyMemory(from: base, byteCount: bytes.count)
        }
        return code(TICKWIRE_OK)
    }
    return result ?? code(TICKWIRE_ERROR_INVALID_ARGUMENT)
}

@_cdecl("tickwire_client_link_stats")
public func tickwire_client_link_stats(_ client: OpaquePointer?, _ out: UnsafeMutablePointer<tickwire_link_stats>?) -> Int32 {
    guard let handle = Handles.find(client) else { return code(TICKWIRE_ERROR_INVALID_HANDLE) }
    guard let out else { return code(TICKWIRE_ERROR_INVALID_ARGUMENT) }
    let link = handle.core.channels.stats
    out.pointee = tickwire_link_stats(
        rtt_ms: link.rttMilliseconds, rtt_jitter_ms: link.rttJitterMilliseconds, packet_loss_percent: link.packetLossPercent,
        sent_kbps: link.sentKbps, received_kbps: link.receivedKbps, packets_sent: link.counters.packetsSent,
        packets_received: link.counters.packetsReceived, packets_lost: link.counters.packetsLost,
        snapshots_decoded: handle.core.decoder.counters.decoded)
    return code(TICKWIRE_OK)
}
