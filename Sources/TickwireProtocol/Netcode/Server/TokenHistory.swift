/// Connect tokens seen recently, keyed by their 16-byte MAC, so a token sniffed off the wire cannot
/// be used from another address (netcode's connect token entries, 8 × max clients). The oldest
/// entry is forgotten first.
struct TokenHistory {
    struct MAC: Hashable {
        var a: UInt64
        var b: UInt64

        init(_ raw: UnsafeRawBufferPointer) {
            a = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        }
    }

    private var entries: [MAC: NetcodeAddress] = [:]
    private var order: [MAC] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        entries.reserveCapacity(capacity)
        order.reserveCapacity(capacity)
    }

    /// Records the token as used from `address`. Returns `false` when it was already used from
    /// another address.
    mutating func findOrAdd(_ mac: MAC, address: NetcodeAddress) -> Bool {
        if let seen = entries[mac] { return seen == address }
        if order.count < capacity {
            order.append(mac)
        } else {
            entries[order[next]] = nil
            order[next] = mac
            next = (next + 1) % capacity
        }
        entries[mac] = address
        return true
    }
}
