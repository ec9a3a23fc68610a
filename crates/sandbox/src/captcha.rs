//! Image captchas for the renewal registration (seed 004: "Per sicurezza è anche richiesto di
//! inserire il codice captcha").
//!
//! A small hand-rolled raster: six digits from a 5×7 bitmap font, each scaled, shifted and
//! sheared by a random amount, over speckle noise and crossing lines, encoded as a greyscale PNG.
//! It is no match for a determined OCR, and need not be: it makes the sandbox behave like the
//! portal (an image, an answer checked server-side, single use, expiring), which is what the app
//! and the tests exercise. A challenge is drawn once and always served as the same bytes
//! (audit L8): redrawn on every fetch, a few fetches averaged would take the noise away.

use rand::Rng;

/// Digits in a captcha.
pub const CAPTCHA_DIGITS: usize = 6;
/// Wide enough for six digits at the largest scale, spacing and shear (14 + 5 × 31 + 25 + 12).
const WIDTH: u32 = 212;
const HEIGHT: u32 = 60;

/// 5×7 glyphs of 0-9, one row per byte, bit 4 = leftmost column.
const FONT: [[u8; 7]; 10] = [
    [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
    [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
    [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
    [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
    [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
    [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
    [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
    [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
    [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
    [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
];

/// A random answer.
pub fn new_answer() -> String {
    let mut rng = rand::thread_rng();
    (0..CAPTCHA_DIGITS)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// Renders `answer` (digits only; anything else is skipped) as a PNG.
pub fn render_png(answer: &str) -> anyhow::Result<Vec<u8>> {
    let mut rng = rand::thread_rng();
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut px = vec![235u8; w * h];
    // Speckle noise.
    for p in px.iter_mut() {
        if rng.gen_ratio(1, 9) {
            *p = rng.gen_range(90..200);
        }
    }
    // A left shear moves a glyph up to 12 px left: start far enough in not to clip it.
    let mut x0 = 14i64;
    for d in answer.bytes().filter(u8::is_ascii_digit) {
        let glyph = FONT[usize::from(d - b'0')];
        let scale = rng.gen_range(4..=5i64);
        let y0 = rng.gen_range(4..=(h as i64 - 7 * scale - 4).max(4));
        let shear = rng.gen_range(-0.35f64..0.35);
        let ink = rng.gen_range(0..70u8);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..5i64 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let y = y0 + row as i64 * scale + dy;
                        let x = x0 + col * scale + dx + (shear * (y - y0) as f64) as i64;
                        if (0..w as i64).contains(&x) && (0..h as i64).contains(&y) {
                            px[y as usize * w + x as usize] = ink;
                        }
                    }
                }
            }
        }
        x0 += 5 * scale + rng.gen_range(3..7);
    }
    // Two crossing lines.
    for _ in 0..2 {
        let (ya, yb) = (rng.gen_range(0..h) as f64, rng.gen_range(0..h) as f64);
        for x in 0..w {
            let y = (ya + (yb - ya) * x as f64 / w as f64) as usize;
            if y < h {
                px[y * w + x] = 60;
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&px)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_png_of_the_right_size() {
        let a = new_answer();
        assert_eq!(a.len(), CAPTCHA_DIGITS);
        let png = render_png(&a).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
    }
}
