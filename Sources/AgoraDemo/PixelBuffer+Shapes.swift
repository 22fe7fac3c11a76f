// Flat-colour shapes drawn as horizontal runs. No anti-aliasing: hard edges keep the colour count tiny, which
// is what lets PNG squeeze a drawing to a few kilobytes.
extension PixelBuffer {
    /// Fills the image with a top-to-bottom gradient; every row is one colour, so PNG's Sub filter zeroes it.
    package mutating func fillVerticalGradient(from top: RGBColor, to bottom: RGBColor) {
        for y in 0..<height {
            fill(row: y, from: 0, count: width, with: top.mixed(with: bottom, height > 1 ? Double(y) / Double(height - 1) : 0))
        }
    }

    /// Fills a disc.
    /// - Parameters:
    ///   - centerX: column of the centre.
    ///   - centerY: row of the centre.
    ///   - radius: radius in pixels.
    ///   - color: fill colour.
    package mutating func fillCircle(centerX: Int, centerY: Int, radius: Int, with color: RGBColor) {
        guard radius > 0 else { return }
        for dy in -radius...radius {
            let half = Int((Double(radius * radius - dy * dy)).squareRoot().rounded())
            fill(row: centerY + dy, from: centerX - half, count: 2 * half + 1, with: color)
        }
    }

    /// Fills a rectangle with rounded corners.
    /// - Parameters:
    ///   - x: left column.
    ///   - y: top row.
    ///   - width: width in pixels.
    ///   - height: height in pixels.
    ///   - radius: corner radius, clamped to half the shorter side.
    ///   - color: fill colour.
    package mutating func fillRoundedRectangle(x: Int, y: Int, width: Int, height: Int, radius: Int, with color: RGBColor) {
        guard width > 0, height > 0 else { return }
        let r = max(0, min(radius, width / 2, height / 2))
        for row in 0..<height {
            // Rows inside a corner's band are inset by how far the corner's circle is from the side.
            let fromEdge = min(row, height - 1 - row)
            var inset = 0
            if fromEdge < r {
                let dy = Double(r - fromEdge) - 0.5
                inset = r - Int((Double(r * r) - dy * dy).squareRoot().rounded())
            }
            fill(row: y + row, from: x + inset, count: width - 2 * inset, with: color)
        }
    }

    /// Draws `text` in the built-in 5×7 font, each font pixel a `scale`×`scale` square, one blank column between
    /// letters; characters without a glyph are skipped.
    /// - Parameters:
    ///   - text: what to write (A–Z, 0–9).
    ///   - x: left column of the first letter.
    ///   - y: top row.
    ///   - scale: pixels per font pixel.
    ///   - color: ink colour.
    package mutating func drawText(_ text: String, x: Int, y: Int, scale: Int, with color: RGBColor) {
        var left = x
        for character in text where BitmapFont.has(character) {
            for gy in 0..<BitmapFont.glyphHeight {
                for gx in 0..<BitmapFont.glyphWidth where BitmapFont.isInk(character, x: gx, y: gy) {
                    for dy in 0..<scale { fill(row: y + gy * scale + dy, from: left + gx * scale, count: scale, with: color) }
                }
            }
            left += (BitmapFont.glyphWidth + 1) * scale
        }
    }

    /// The width `drawText` covers for `text` at `scale`, without the trailing gap.
    package static func textWidth(_ text: String, scale: Int) -> Int {
        let count = text.filter(BitmapFont.has).count
        return count == 0 ? 0 : (count * (BitmapFont.glyphWidth + 1) - 1) * scale
    }
}
