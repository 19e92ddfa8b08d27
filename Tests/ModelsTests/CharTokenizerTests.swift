import XCTest
@testable import Models

final class CharTokenizerTests: XCTestCase {
    func testRoundTripKeepsEveryCharacterIncludingUnicodeAndControls() throws {
        let texts = ["12+34=46", "héllo wörld\n\t\"quoted\"\\", "日本語 🙂", ""]
        let tok = CharTokenizer(corpus: texts)
        for t in texts {
            let ids = try tok.encode(t, bos: true, eos: true)
            XCTAssertEqual(ids.first, CharTokenizer.bos)
            XCTAssertEqual(ids.last, CharTokenizer.eos)
            XCTAssertEqual(ids.count, t.unicodeScalars.count + 2)
            XCTAssertEqual(tok.decode(ids), t)
        }
    }

    func testSpecialIdsComeFirstAndCharactersAreSortedByScalar() throws {
        let tok = CharTokenizer(corpus: ["=+21"])
        XCTAssertEqual(tok.vocabularySize, 7)
        XCTAssertEqual(tok.characters.map { String($0) }, ["+", "1", "2", "="])
        XCTAssertEqual(try tok.encode("+12="), [3, 4, 5, 6])
        XCTAssertEqual(tok.tokenName(0), "<pad>")
        XCTAssertEqual(tok.tokenName(2), "<eos>")
        XCTAssertEqual(tok.tokenName(3), "\"+\"")
        XCTAssertEqual(tok.tokenName(99), "<unk:99>")
        // decode drops specials and ids outside the vocabulary
        XCTAssertEqual(tok.decode([1, 4, 0, 5, 2, 42, -1]), "12")
    }

    func testSerializedVocabularyRestoresIdenticalIds() throws {
        let tok = CharTokenizer(corpus: ["abc\u{0}\u{1F}\"\\é🙂"])
        let back = try CharTokenizer(serialized: tok.serialized)
        XCTAssertEqual(back, tok)
        XCTAssertEqual(try back.encode("a🙂\u{0}"), try tok.encode("a🙂\u{0}"))
    }

    func testUnknownCharacterErrorNamesCharacterAndOffset() {
        let tok = CharTokenizer(corpus: ["0123456789+="])
        XCTAssertThrowsError(try tok.encode("12+x4")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("\"x\""), text)
            XCTAssertTrue(text.contains("offset 3"), text)
            XCTAssertTrue(text.contains("U+78"), text)
        }
    }

    func testMalformedVocabularyIsRejected() {
        XCTAssertThrowsError(try CharTokenizer(serialized: "not json"))
        XCTAssertThrowsError(try CharTokenizer(serialized: #"{"special":["<pad>"],"characters":["a"]}"#))
        XCTAssertThrowsError(try CharTokenizer(serialized: #"{"special":["<pad>","<bos>","<eos>"],"characters":["ab"]}"#))
        XCTAssertThrowsError(try CharTokenizer(serialized: #"{"special":["<pad>","<bos>","<eos>"],"characters":["a","a"]}"#))
    }
}
