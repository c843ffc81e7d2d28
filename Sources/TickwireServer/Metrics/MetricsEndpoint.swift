import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The admin HTTP/1.1 endpoint: `GET /metrics` (Prometheus text format) and, when a join API is
/// configured, `POST /v1/join` and `GET /v1/rooms` (see `JoinService`). Requests are bounded:
/// bodies to `JoinService.maxBodyBytes`, and a connection idle for 10 s is closed. With `tls`,
/// every connection is HTTPS.
public enum MetricsEndpoint {
    /// What `/healthz` and `/readyz` report: nil for OK, else the reason (503).
    public struct Status: Sendable {
        public var health: @Sendable () -> String?
        public var readiness: @Sendable () -> String?

        public init(health: @escaping @Sendable () -> String?, readiness: @escaping @Sendable () -> String?) {
            self.health = health
            self.readiness = readiness
        }
    }

    public static func start(host: String, port: Int, metrics: RelayMetrics?, join: JoinService? = nil, status: Status? = nil,
                             tls: NIOSSLContext? = nil, group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(10)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(metrics: metrics, join: join, status: status))
                }
            }
            .bind(host: host, port: port).get()
    }
}

private final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let metrics: RelayMetrics?
    let join: JoinService?
    let status: MetricsEndpoint.Status?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(metrics: RelayMetrics?, join: JoinService?, status: MetricsEndpoint.Status?) {
        self.metrics = metrics
        self.join = join
        self.status = status
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed TLS handshake or a malformed request: this connection ends, the endpoint stays.
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
            tooLarge = false
        case .body(let buffer):
            if body.count + buffer.readableBytes > JoinService.maxBodyBytes { tooLarge = true } else { body.append(contentsOf: buffer.readableBytesView) }
        case .end:
            guard let head else { return }
            self.head = nil
            route(head, context: context)
        }
    }

    private func route(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        let keepAlive = head.isKeepAlive && !tooLarge
        switch (head.method, path) {
        case (.GET, "/metrics") where metrics != nil:
            respond(context, status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics!.exposition(), keepAlive: keepAlive)
        case (.GET, "/healthz") where status != nil, (.GET, "/readyz") where status != nil:
            let problem = path == "/healthz" ? status!.health() : status!.readiness()
            respond(context, status: problem == nil ? 200 : 503, contentType: "text/plain",
                    body: Array((problem.map { "unavailable: \($0)" } ?? "ok") .utf8) + [0x0A], keepAlive: keepAlive)
        case (.POST, "/v1/join") where join != nil, (.GET, "/v1/rooms") where join != nil:
            if tooLarge {
                respond(context, status: 413, contentType: "application/json",
                        body: Array("{\"error\":\"body_too_large\",\"detail\":\"at most \(JoinService.maxBodyBytes) bytes\"}\n".utf8), keepAlive: false)
                return
            }
            let service = join!
            let body = self.body
            let authorization = head.headers.first(name: "Authorization")
            let isJoin = path == "/v1/join"
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask {
                isJoin ? await service.join(body: body, authorization: authorization) : await service.rooms(authorization: authorization)
            }.whenSuccess { answer in
                let (handler, context) = loopBound.value
                handler.respond(context, status: answer.status, contentType: "application/json", body: answer.body, keepAlive: keepAlive)
            }
        default:
            let known = (metrics != nil ? ["GET /metrics"] : []) + (status != nil ? ["GET /healthz", "GET /readyz"] : [])
                + (join != nil ? ["POST /v1/join", "GET /v1/rooms"] : [])
            respond(context, status: 404, contentType: "text/plain",
                    body: Array("not found: try \(known.joined(separator: ", "))\n".utf8), keepAlive: keepAlive)
        }
    }

    private func respond(_ context: ChannelHandlerContext, status: Int, contentType: String, body: [UInt8], keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
