import TickwireProtocol
import TickwireRelay

/// How to run a relay server. `validate()` explains every bad value.
public struct RelayServerOptions: Sendable {
    public var bindHost: String = "0.0.0.0"
    public var bindPort: Int = 40000
    /// Addresses clients' tokens name for this server. Empty: the bind address, or 127.0.0.1 (and
    /// ::1 for an IPv6 bind) at the bound port when bound to a wildcard address.
    public var publicAddresses: [NetcodeAddress] = []
    /// One public address per worker, overriding `publicAddresses` + i (an Agones GameServer's
    /// ports are assigned, not consecutive).
    public var workerPublicAddresses: [NetcodeAddress]?
    public var protocolID: UInt64 = RelayServerOptions.defaultProtocolID
    public var privateKey: [UInt8]
    public var maxClients: Int = 256
    /// The host wakes the core at its next deadline (`RelayServerCore.nextDeadline`); between
    /// ticks, no more often than this, so a stream of events is relayed in batches at most this late.
    public var updateInterval: Duration = .milliseconds(10)
    /// After reading its socket, the relay looks at it again no sooner than this (and always right
    /// before an update, so a tick sees every datagram that arrived before it). Reading the
    /// datagrams of a millisecond together wakes its thread a fifth as often at hundreds of
    /// clients; a connection handshake's reply leaves at most this much later. 0...20 ms.
    public var readInterval: Duration = .milliseconds(1)
    /// Run each worker's loop thread (its ticks, reads and sends; not the admin port's threads)
    /// under SCHED_FIFO at this priority (1...99), so that other processes sharing its core do not
    /// preempt it mid-tick. nil: the ordinary scheduler.
    public var realtimePriority: Int?
    /// Rooms, tick rate and state size.
    public var relay = RelayConfiguration()
    /// Where to serve Prometheus metrics (`GET /metrics`); nil: no metrics endpoint.
    public var metricsHost: String?
    public var metricsPort: Int = 9464
    /// PEM certificate chain and private key files: the admin port serves HTTPS (required for the
    /// join API on any address but loopback).
    public var adminTLSCertificateFile: String?
    public var adminTLSKeyFile: String?
    /// Connection requests decrypted per second per source address, after a burst.
    public var requestsPerSecondPerAddress = NetcodeServerConfiguration.defaultRequestsPerSecondPerAddress
    public var requestBurstPerAddress = NetcodeServerConfiguration.defaultRequestBurstPerAddress

    /// The bytes of "tickwire" read as a little-endian u64: the protocol id the CLI uses unless told otherwise.
    public static let defaultProtocolID: UInt64 = 0x6572_6977_6b63_6974

    public init(privateKey: [UInt8]) { self.privateKey = privateKey }

    /// The token addresses this server accepts, resolved against the port actually bound.
    public func resolvedPublicAddresses(boundPort: UInt16) -> [NetcodeAddress] {
        if !publicAddresses.isEmpty { return publicAddresses }
        if let bind = NetcodeAddress(parsing: bindHost, defaultPort: boundPort), !bind.isUnspecified {
            return [bind]
        }
        var addresses = [NetcodeAddress.ipv4(127, 0, 0, 1, port: boundPort)]
        if bindHost.contains(":") { addresses.append(.ipv6(groups: [0, 0, 0, 0, 0, 0, 0, 1], port: boundPort)) }
        return addresses
    }

    public func validate() throws(RelayServerOptionsError) {
        guard (0...65535).contains(bindPort) else { throw .invalid("--port must be 0...65535, got \(bindPort)") }
        guard NetcodeAddress(parsing: bindHost, defaultPort: 1) != nil else {
            throw .invalid("--bind must be an IPv4 or IPv6 address such as 0.0.0.0 or ::, got '\(bindHost)'")
        }
        guard privateKey.count == Netcode.keyBytes else {
            throw .invalid("the private key must be 32 bytes (64 hex characters); make one with `tickwire keygen`")
        }
        guard (1...NetcodeServerConfiguration.maxClientsLimit).contains(maxClients) else {
            throw .invalid("--max-clients must be 1...\(NetcodeServerConfiguration.maxClientsLimit), got \(maxClients)")
        }
        guard readInterval >= .zero && readInterval <= .milliseconds(20) else {
            throw .invalid("--read-interval-ms must be 0...20, got \(readInterval.millisecondsDouble)")
        }
        if let priority = realtimePriority, !(1...99).contains(priority) {
            throw .invalid("--realtime-priority must be 1...99, got \(priority)")
        }
        if metricsHost != nil, !(0...65535).contains(metricsPort) {
            throw .invalid("the metrics port must be 0...65535, got \(metricsPort)")
        }
        do { try relay.validate() } catch {
            throw .invalid("\(error)")
        }
        guard requestsPerSecondPerAddress > 0, requestBurstPerAddress >= 1 else {
            throw .invalid("--requests-per-address must be > 0 and --request-burst at least 1, got \(requestsPerSecondPerAddress) and \(requestBurstPerAddress)")
        }
        if let wildcard = publicAddresses.first(where: \.isUnspecified) {
            throw .invalid("--public-address \(wildcard) is a wildcard; give the address clients reach, e.g. 127.0.0.1:\(wildcard.port)")
        }
    }
}

public enum RelayServerOptionsError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let message): return message }
    }
}
