import Core
import Testing

struct TokenCountTests {
    @Test(arguments: [("96k", 98_304), ("96K", 98_304), ("98304", 98_304), ("1M", 1_048_576), ("128k", 131_072),
                      (" 32k ", 32_768), ("1.5k", 1536), ("1", 1)])
    func parses(_ text: String, _ tokens: Int) throws {
        #expect(try TokenCount.parse(text).value == tokens)
    }

    @Test(arguments: ["0", "-5", "-1k", "", "abc", "12q", "1.3", "0k", "nan", "2G"])
    func rejects(_ text: String) {
        #expect(throws: TokenCount.ParseError.self) { try TokenCount.parse(text) }
    }

    @Test func messagesSayWhatToWrite() {
        do { _ = try TokenCount.parse("0"); Issue.record("0 parsed") } catch {
            #expect(error.description.contains("at least 1 token"))
        }
        do { _ = try TokenCount.parse("lots"); Issue.record("lots parsed") } catch {
            #expect(error.description.contains("96k"))
        }
    }

    @Test func printsInKibiTokens() {
        #expect(TokenCount(98_304).description == "96k")
        #expect(TokenCount(1_048_576).description == "1M")
        #expect(TokenCount(1000).description == "1000")
    }

    @Test func quantities() throws {
        #expect(try Quantity.bytes("24GB") == 24e9)
        #expect(try Quantity.bytes("80GiB") == 80 * 1_073_741_824)
        #expect(try Quantity.seconds("100ms") == 0.1)
        #expect(try Quantity.seconds("250us") == 250e-6)
        #expect(throws: Quantity.ParseError.self) { try Quantity.seconds("-5ms") }
        #expect(throws: Quantity.ParseError.self) { try Quantity.bytes("lots") }
    }
}
