/// Address → packet keys for clients that passed the connection request but do not own a slot
/// yet (netcode's encryption manager). Bounded; entries expire after `timeout` of silence or when
/// their token expires.
struct EncryptionMappings {
    struct Mapping {
        var sendKey: [UInt8]
        var receiveKey: [UInt8]
        var timeout: Duration?
        var expireUnixSeconds: UInt64
        var lastAccess: TickwireInstant
    }

    private var mappings: [NetcodeAddress: Mapping] = [:]
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        mappings.reserveCapacity(capacity)
    }

    var count: Int { mappings.count }

    private static func isLive(_ m: Mapping, now: TickwireInstant, unixSeconds: UInt64) -> Bool {
        if m.expireUnixSeconds <= unixSeconds { return false }
        if let timeout = m.timeout, m.lastAccess + timeout < now { return false }
        return true
    }

    func find(_ address: NetcodeAddress, now: TickwireInstant, unixSeconds: UInt64) -> Mapping? {
        guard let m = mappings[address], Self.isLive(m, now: now, unixSeconds: unixSeconds) else { return nil }
        return m
    }

    mutating func touch(_ address: NetcodeAddress, now: TickwireInstant) {
        mappings[address]?.lastAccess = now
    }

    /// Adds or replaces the mapping of `address`. Returns `false` when the table is full of live entries.
    mutating func add(_ address: NetcodeAddress, _ mapping: Mapping, now: TickwireInstant, unixSeconds: UInt64) -> Bool {
        if mappings[address] == nil && mappings.count >= capacity {
            removeExpired(now: now, unixSeconds: unixSeconds)
            if mappings.count >= capacity { return false }
        }
        mappings[address] = mapping
        return true
    }

    mutating func remove(_ address: NetcodeAddress) { mappings[address] = nil }

    mutating func removeExpired(now: TickwireInstant, unixSeconds: UInt64) {
        mappings = mappings.filter { Self.isLive($0.value, now: now, unixSeconds: unixSeconds) }
    }
}
