import XCTest
@testable import Models

final class ProgressBarTests: XCTestCase {
    func testRenderShowsPercentCountElapsedEtaRateAndLoss() {
        let line = ProgressBar.render(label: "train", step: 420, total: 1000, elapsed: 13.4, loss: 0.41234, barWidth: 20)
        XCTAssertEqual(line, "train  42%|████████▍           | 420/1000 [00:13<00:18, 31.3 it/s, loss=0.4123]")
        let done = ProgressBar.render(label: "", step: 10, total: 10, elapsed: 3725, loss: nil, barWidth: 4)
        XCTAssertEqual(done, "100%|████| 10/10 [1:02:05<00:00, 0.00 it/s]")
    }

    func testPlainOutputPrintsAboutTenLinesWithoutControlCharacters() {
        var chunks: [String] = []
        var now = 0.0
        let bar = ProgressBar(total: 100, label: "t", isTerminal: false, emit: { chunks.append($0) }, clock: { now })
        for step in 1...100 { now += 0.5; bar.update(step, loss: Float(step)) }
        bar.finish()
        XCTAssertEqual(chunks.count, 10)   // steps 10, 20, …, 90 and the final line
        XCTAssertTrue(chunks.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") && !$0.contains("\u{1B}") })
        XCTAssertTrue(chunks.last!.contains("100/100"))
        XCTAssertTrue(chunks.last!.contains("loss=100.0000"))
    }

    func testTerminalOutputRedrawsInPlaceAtMostTenTimesASecond() {
        var chunks: [String] = []
        var now = 0.0
        let bar = ProgressBar(total: 1000, isTerminal: true, emit: { chunks.append($0) }, clock: { now })
        for step in 1...1000 { now += 0.001; bar.update(step) }   // one second in all
        bar.finish()
        XCTAssertTrue(chunks.allSatisfy { $0.hasPrefix("\r") })
        XCTAssertLessThanOrEqual(chunks.count, 13)
        XCTAssertGreaterThanOrEqual(chunks.count, 10)
        XCTAssertTrue(chunks.last!.hasSuffix("\n"))
    }
}
