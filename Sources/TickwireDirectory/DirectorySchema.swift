import Logging
import PostgresNIO

/// The directory's tables, as numbered migrations applied in order on start. A relay applies
/// those its database lacks, one relay at a time (an advisory lock), each in the transaction
/// that records it in `tickwire_schema`; a database newer than this relay is refused.
enum DirectorySchema {
    /// Serializes migrations between relays starting together (any constant unique to Tickwire).
    static let lockKey: Int64 = 0x7469_636B_7769_7265

    static let migrations: [(version: Int, statements: [PostgresQuery])] = [
        (1, [
            """
            CREATE TABLE tickwire_relays (
                relay_id text PRIMARY KEY,
                heartbeat_at timestamptz NOT NULL DEFAULT now(),
                started_at timestamptz NOT NULL DEFAULT now(),
                draining boolean NOT NULL DEFAULT false
            )
            """,
            """
            CREATE TABLE tickwire_workers (
                relay_id text NOT NULL REFERENCES tickwire_relays ON DELETE CASCADE,
                worker integer NOT NULL,
                address text NOT NULL,
                capacity integer NOT NULL,
                connected integer NOT NULL DEFAULT 0,
                tick_load double precision NOT NULL DEFAULT 0,
                PRIMARY KEY (relay_id, worker)
            )
            """,
            """
            CREATE TABLE tickwire_rooms (
                room text PRIMARY KEY,
                relay_id text NOT NULL,
                worker integer NOT NULL,
                hosted boolean NOT NULL DEFAULT false,
                members bigint[] NOT NULL DEFAULT '{}',
                empty_since timestamptz,
                placed_at timestamptz NOT NULL DEFAULT now(),
                FOREIGN KEY (relay_id, worker) REFERENCES tickwire_workers ON DELETE CASCADE
            )
            """,
            "CREATE INDEX tickwire_rooms_by_relay ON tickwire_rooms (relay_id, hosted)",
            "CREATE INDEX tickwire_rooms_by_worker ON tickwire_rooms (relay_id, worker)",
            """
            CREATE TABLE tickwire_seats (
                room text NOT NULL REFERENCES tickwire_rooms ON DELETE CASCADE,
                client_id bigint NOT NULL,
                expires_at double precision NOT NULL,
                PRIMARY KEY (room, client_id)
            )
            """,
        ]),
    ]

    static var latest: Int { migrations.last?.version ?? 0 }

    /// Brings the database to `latest`; returns the versions applied.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.withTransaction(logger: logger) { connection in
            // The lock first: two relays creating the table at once would collide even with IF NOT EXISTS.
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS tickwire_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var current = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM tickwire_schema", logger: logger)
                .decode(Int.self) { current = version }
            guard current <= latest else {
                throw DirectorySchemaError.newerDatabase(found: current, known: latest)
            }
            var applied: [Int] = []
            for migration in migrations where migration.version > current {
                for statement in migration.statements { try await connection.query(statement, logger: logger) }
                try await connection.query("INSERT INTO tickwire_schema (version) VALUES (\(migration.version))", logger: logger)
                applied.append(migration.version)
            }
            return applied
        }
    }
}

public enum DirectorySchemaError: Error, Equatable, CustomStringConvertible {
    case newerDatabase(found: Int, known: Int)

    public var description: String {
        switch self {
        case .newerDatabase(let found, let known):
            "the directory's schema is version \(found), newer than this relay knows (\(known)): upgrade the relay"
        }
    }
}
