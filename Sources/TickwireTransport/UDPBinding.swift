import CTickwireSocket
import NIOCore
import TickwireProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bound UDP socket on a `DatagramLoop`: the loop reads it, `DatagramBatchWriter` writes it.
/// Its state belongs to the loop's thread; `close()` may be called from anywhere.
public final class UDPSocket: @unchecked Sendable {
    public let descriptor: Int32
    public let localAddress: SocketAddress
    public let loop: DatagramLoop
    /// False once closed (the descriptor is then no longer this socket's). Loop thread.
    public private(set) var isOpen = true
    /// Datagrams from sources that are neither IPv4 nor IPv6 (never expected on a UDP socket). Loop thread.
    public internal(set) var unreadableSources: UInt64 = 0

    init(descriptor: Int32, localAddress: SocketAddress, loop: DatagramLoop) {
        self.descriptor = descriptor
        self.localAddress = localAddress
        self.loop = loop
    }

    /// Stops reading and closes the descriptor. Any thread; closing twice does nothing.
    public func close() async {
        if loop.inEventLoop { return loop.close(self) }
        try? await loop.submit { self.loop.close(self) }.get()
    }

    func closeNow() {
        guard isOpen else { return }
        isOpen = false
        closeDescriptor(descriptor)
    }
}

/// Binds UDP sockets with the options a relay wants: non-blocking, 4 MiB socket buffers like
/// netcode's, and SO_REUSEADDR only for a fixed port.
public enum UDPBinding {
    public static let bufferBytes = 4 * 1024 * 1024

    /// Binds `host:port`. `host` is a numeric address; an IPv6 address (such as `::`) also takes
    /// IPv4. Use `DatagramLoop.bind`, which also reads the socket.
    ///
    /// SO_REUSEADDR is set only for a fixed port (a server restarting): on Linux, sockets that
    /// set it and bind port 0 can be given the same ephemeral port, and two clients would then
    /// share one address.
    static func bind(host: String, port: Int, loop: DatagramLoop) throws -> UDPSocket {
        guard (0...65535).contains(port) else { throw IOError(errnoCode: EINVAL, reason: "bind: port \(port) is not 0...65535") }
        let descriptor = tickwire_udp_bind(host, UInt16(port), Int32(bufferBytes), port == 0 ? 0 : 1)
        guard descriptor >= 0 else { throw IOError(errnoCode: -descriptor, reason: "bind(\(host):\(port))") }
        let bound = Int(UInt16(bigEndian: tickwire_udp_port(descriptor)))
        do {
            return UDPSocket(descriptor: descriptor, localAddress: try SocketAddress(ipAddress: host, port: bound), loop: loop)
        } catch {
            closeDescriptor(descriptor)
            throw error
        }
    }
}

extension NetcodeAddress {
    /// The source of a received datagram (IPv4-mapped IPv6 already reported as IPv4), or nil
    /// for a family that is neither.
    public init?(_ datagram: tickwire_datagram) {
        let port = UInt16(bigEndian: datagram.port)
        switch datagram.family {
        case 4:
            let a = UInt32(bigEndian: datagram.address)
            self = .ipv4(UInt8(a >> 24), UInt8(truncatingIfNeeded: a >> 16), UInt8(truncatingIfNeeded: a >> 8), UInt8(truncatingIfNeeded: a), port: port)
        case 6:
            let (high, low) = withUnsafeBytes(of: datagram.address6) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            self.init(family: .ipv6, high: high, low: low, port: port)
        default:
            return nil
        }
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(descriptor)
    #else
    _ = Darwin.close(descriptor)
    #endif
}
