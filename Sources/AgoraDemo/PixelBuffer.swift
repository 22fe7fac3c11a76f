/// An 8-bit colour.
package struct RGBColor: Sendable, Hashable {
    /// Red, 0–255.
    package var red: UInt8
    /// Green, 0–255.
    package var green: UInt8
    /// Blue, 0–255.
    package var blue: UInt8

    /// Makes a colour from its channels, each 0–255.
    package init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Makes a colour from `0xRRGGBB`.
    package init(hex: UInt32) {
        self.init(red: UInt8(truncatingIfNeeded: hex >> 16), green: UInt8(truncatingIfNeeded: hex >> 8), blue: UInt8(truncatingIfNeeded: hex))
    }

    /// The colour `t` of the way from `self` to `other` (0 is `self`, 1 is `other`).
    package func mixed(with other: RGBColor, _ t: Double) -> RGBColor {
        let t = min(max(t, 0), 1)
        func channel(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded()) }
        return RGBColor(red: channel(red, other.red), green: channel(green, other.green), blue: channel(blue, other.blue))
    }
}

/// Rows of 8-bit RGB or RGBA pixels, top row first, the layout `PNGEncoder` takes.
package struct PixelBuffer: Sendable, Equatable {
    /// Width in pixels.
    package let width: Int
    /// Height in pixels.
    package let height: Int
    /// Bytes per pixel: 3 for RGB, 4 for RGBA.
    package let channels: Int
    /// `width * height * channels` bytes, row after row.
    package var pixels: [UInt8]

    /// A buffer of black (and, with alpha, fully transparent) pixels.
    /// - Parameters:
    ///   - width: width in pixels, at least 1.
    ///   - height: height in pixels, at least 1.
    ///   - hasAlpha: whether pixels carry a fourth, alpha byte.
    package init(width: Int, height: Int, hasAlpha: Bool = false) {
        precondition(width > 0 && height > 0, "an image needs at least one pixel")
        self.width = width
        self.height = height
        self.channels = hasAlpha ? 4 : 3
        self.pixels = [UInt8](repeating: 0, count: width * height * channels)
    }

    /// Wraps existing pixel bytes.
    /// - Parameters:
    ///   - width: width in pixels, at least 1.
    ///   - height: height in pixels, at least 1.
    ///   - channels: 3 (RGB) or 4 (RGBA).
    ///   - pixels: exactly `width * height * channels` bytes.
    package init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "an image needs at least one pixel")
        precondition(channels == 3 || channels == 4, "only RGB and RGBA are supported")
        precondition(pixels.count == width * height * channels, "the pixel bytes do not match the size")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Paints `count` pixels of row `y` from column `x` with `color` (opaque); the run is clipped to the image.
    package mutating func fill(row y: Int, from x: Int, count: Int, with color: RGBColor) {
        guard (0..<height).contains(y) else { return }
        let start = max(x, 0)
        let end = min(x + count, width)
        guard start < end else { return }
        let channels = self.channels
        pixels.withUnsafeMutableBufferPointer { p in
            var i = (y * width + start) * channels
            for _ in start..<end {
                p[i] = color.red
                p[i + 1] = color.green
                p[i + 2] = color.blue
                if channels == 4 { p[i + 3] = 255 }
                i += channels
            }
        }
    }
}
