/// The coverage-guided fuzz targets. Each takes one fuzzer input and must never trap; the
/// libFuzzer executables in `Fuzz/Engine` call these, and the unit tests replay the committed
/// corpus (`Fuzz/Corpus/<name>`) and seeded random inputs through the same functions.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// netcode packet, connect token and private token decoding, and a server fed the datagram.
    case netcodeServer = "netcode-server"
    /// A connecting and a connected netcode client fed the datagram.
    case netcodeClient = "netcode-client"
    /// The channel layer's receive: ack header, records and fragments in any combination.
    case channelReceive = "channel-receive"
    /// Relay message decode, and re-encode of whatever decodes.
    case relayMessage = "relay-message"
    /// Snapshot decode against held baselines.
    case snapshotDecode = "snapshot-decode"
    /// The whole relay server core fed authenticated payloads from several clients, with
    /// joins, leaves and ticks: the fuzzer writes the plaintext after decryption.
    case relayServer = "relay-server"
    /// The client core fed authenticated payloads from the server, with updates and time.
    case relayClient = "relay-client"

    public func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .netcodeServer: NetcodeFuzzing.server(data)
        case .netcodeClient: NetcodeFuzzing.client(data)
        case .channelReceive: ChannelFuzzing.receive(data)
        case .relayMessage: RelayFuzzing.message(data)
        case .snapshotDecode: RelayFuzzing.snapshot(data)
        case .relayServer: RelayCoreFuzzing.server(data)
        case .relayClient: RelayCoreFuzzing.client(data)
        }
    }

    public func run(_ bytes: [UInt8]) { bytes.withUnsafeBytes { run($0) } }
}
