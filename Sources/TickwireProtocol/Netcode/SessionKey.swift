/// A 32-byte session key held inline: a connected slot's keys sit in the slot itself, so sealing
/// or opening a client's packet reads no separate allocation (a cache miss per packet when
/// hundreds of clients take turns).
struct SessionKey: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    /// `bytes` must be `Netcode.keyBytes` long (the handshake's keys always are).
    init(_ bytes: [UInt8]) {
        precondition(bytes.count == Netcode.keyBytes, "a session key is \(Netcode.keyBytes) bytes")
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
    }

    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }
}
