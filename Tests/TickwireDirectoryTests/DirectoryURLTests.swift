import Testing
import TickwireDirectory

@Suite struct DirectoryURLTests {
    @Test func readsUserPasswordHostPortDatabaseAndSSLMode() throws {
        let configuration = try DirectoryURL.configuration("postgres://relay:s%40cret@db.internal:6432/fleet?sslmode=disable")
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6432)
        #expect(configuration.username == "relay")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == "fleet")
        let plain = try DirectoryURL.configuration("postgresql://relay@[::1]/fleet", environment: ["PGPASSWORD": "from-env"])
        #expect(plain.host == "::1" && plain.port == 5432 && plain.password == "from-env")
    }

    @Test func refusesWhatItCannotUseAndSaysWhy() {
        for (text, why) in [
            ("mysql://a@b/c", "must start with postgres://"),
            ("postgres://db.internal/fleet", "names no user"),
            ("postgres://a@db:99999/fleet", "port must be 1...65535"),
            ("postgres://a@db/fleet?sslmode=maybe", "sslmode must be disable, prefer or require"),
            ("postgres://a@db/fleet?timeout=3", "knows only the parameter sslmode"),
        ] {
            #expect(throws: DirectoryURLError.self, "\(text)") { try DirectoryURL.configuration(text) }
            do { _ = try DirectoryURL.configuration(text) } catch { #expect(error.description.contains(why), "\(error)") }
        }
    }

    @Test func theRedactedFormHidesThePassword() {
        #expect(DirectoryURL.redacted("postgres://relay:hunter2@db/fleet") == "postgres://relay:***@db/fleet")
        #expect(DirectoryURL.redacted("postgres://relay@db/fleet") == "postgres://relay@db/fleet")
    }
}
