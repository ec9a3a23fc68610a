//! Image captchas for the renewal registration (the renewal guide: "Per sicurezza è anche richiesto di
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

/// The text alternative of a captcha, for those who cannot see the image (WCAG 1.1.1 asks for
/// one): a number from 100 to 999 written in words, to be typed in digits. A screen reader
/// reads it like any text; the server checks its answer as it checks the image's. It is as
/// weak against a bot as the image is against OCR; both only make the sandbox behave like a
/// portal with a challenge.
pub struct TextChallenge {
    /// The digits expected.
    pub answer: String,
    /// The question in Italian.
    pub question_it: String,
    /// The question in English.
    pub question_en: String,
}

/// A new text challenge.
pub fn new_text_challenge() -> TextChallenge {
    text_challenge(rand::thread_rng().gen_range(100..1000))
}

/// The text challenge of `n` (100..=999).
pub fn text_challenge(n: u16) -> TextChallenge {
    TextChallenge {
        answer: n.to_string(),
        question_it: format!("Scrivi in cifre il numero {}.", words_it(n)),
        question_en: format!("Write the number {} in digits.", words_en(n)),
    }
}

/// `n` (0..=999) in Italian words, as written on a cheque ("trecentoquarantuno").
pub fn words_it(n: u16) -> String {
    const UNITS: [&str; 20] = [
        "zero",
        "uno",
        "due",
        "tre",
        "quattro",
        "cinque",
        "sei",
        "sette",
        "otto",
        "nove",
        "dieci",
        "undici",
        "dodici",
        "tredici",
        "quattordici",
        "quindici",
        "sedici",
        "diciassette",
        "diciotto",
        "diciannove",
    ];
    const TENS: [&str; 10] = [
        "",
        "",
        "venti",
        "trenta",
        "quaranta",
        "cinquanta",
        "sessanta",
        "settanta",
        "ottanta",
        "novanta",
    ];
    let below_hundred = |n: u16| -> String {
        let n = usize::from(n);
        if n < 20 {
            return UNITS[n].to_owned();
        }
        let (t, u) = (n / 10, n % 10);
        let mut tens = TENS[t].to_owned();
        // "ventuno", "trentotto": the tens lose their vowel before uno and otto.
        if u == 1 || u == 8 {
            tens.pop();
        }
        match u {
            0 => tens,
            // "ventitré": a final tre takes the accent.
            3 => format!("{tens}tré"),
            _ => format!("{tens}{}", UNITS[u]),
        }
    };
    let (h, rest) = (n / 100, n % 100);
    let hundreds = match h {
        0 => String::new(),
        1 => "cento".to_owned(),
        _ => format!("{}cento", UNITS[usize::from(h)]),
    };
    match (h, rest) {
        (0, r) => below_hundred(r),
        (_, 0) => hundreds,
        // "centottanta": cento loses its o before otto and ottanta.
        (_, r) if (80..90).contains(&r) || r == 8 => {
            format!("{}{}", &hundreds[..hundreds.len() - 1], below_hundred(r))
        }
        (_, r) => format!("{hundreds}{}", below_hundred(r)),
    }
}

/// `n` (0..=999) in English words ("three hundred forty-one").
pub fn words_en(n: u16) -> String {
    const UNITS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let below_hundred = |n: u16| -> String {
        let n = usize::from(n);
        match (n / 10, n % 10) {
            _ if n < 20 => UNITS[n].to_owned(),
            (t, 0) => TENS[t].to_owned(),
            (t, u) => format!("{}-{}", TENS[t], UNITS[u]),
        }
    };
    let (h, rest) = (n / 100, n % 100);
    match (h, rest) {
        (0, r) => below_hundred(r),
        (h, 0) => format!("{} hundred", UNITS[usize::from(h)]),
        (h, r) => format!("{} hundred {}", UNITS[usize::from(h)], below_hundred(r)),
    }
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
    fn numbers_in_words() {
        for (n, it, en) in [
            (100, "cento", "one hundred"),
            (101, "centouno", "one hundred one"),
            (108, "centotto", "one hundred eight"),
            (121, "centoventuno", "one hundred twenty-one"),
            (183, "centottantatré", "one hundred eighty-three"),
            (218, "duecentodiciotto", "two hundred eighteen"),
            (341, "trecentoquarantuno", "three hundred forty-one"),
            (598, "cinquecentonovantotto", "five hundred ninety-eight"),
            (700, "settecento", "seven hundred"),
            (999, "novecentonovantanove", "nine hundred ninety-nine"),
        ] {
            assert_eq!(words_it(n), it);
            assert_eq!(words_en(n), en);
        }
    }

    #[test]
    fn every_text_challenge_is_distinct_and_answered_in_digits() {
        let mut seen = std::collections::HashSet::new();
        for n in 100..1000 {
            let c = text_challenge(n);
            assert_eq!(c.answer.parse::<u16>().unwrap(), n);
            assert!(
                seen.insert(c.question_it.clone()),
                "{} twice",
                c.question_it
            );
            assert!(!c.question_it.chars().any(|ch| ch.is_ascii_digit()));
            assert!(!c.question_en.chars().any(|ch| ch.is_ascii_digit()));
        }
    }

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
