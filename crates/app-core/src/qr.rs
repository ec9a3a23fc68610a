//! QR codes as SVG drawn here, with no inline style, so the webview's CSP stays strict.

use crate::{AppError, Result};

/// An SVG QR code of `text`, without the XML prolog.
pub fn svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| AppError::Internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_codes_have_no_inline_style() {
        let svg = super::svg("https://example.test/guida").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("style"));
    }
}
