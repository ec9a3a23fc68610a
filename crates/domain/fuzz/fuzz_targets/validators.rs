//! Feeds arbitrary input to every validator and to the identity machine's JSON boundary.
//!
//! Properties checked besides "never panics": a value that validates is a fixed point (parsing its
//! normalised form gives the same value), and every error localises to a non-empty code and
//! messages in both languages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pec_domain::{
    CodiceFiscale, CompanyCfPadding, DomainError, EmailAddress, IdentityEvent, IdentityRequest,
    Localized, MobileNumber, Name, NumericCodiceFiscale, PartitaIva, TaxCode, normalize_company_cf,
};

fn check_error(e: &dyn DomainError) {
    let l: Localized = e.to_localized();
    assert!(!l.code.is_empty() && l.code.contains('.'));
    assert!(!l.message_it.is_empty() && !l.message_en.is_empty());
}

macro_rules! fixed_point {
    ($t:ty, $s:expr) => {
        match <$t>::parse($s) {
            Ok(v) => assert_eq!(<$t>::parse(v.as_str()).ok().as_ref(), Some(&v)),
            Err(e) => check_error(&e),
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    fixed_point!(CodiceFiscale, s);
    fixed_point!(NumericCodiceFiscale, s);
    fixed_point!(PartitaIva, s);
    fixed_point!(TaxCode, s);
    fixed_point!(EmailAddress, s);
    fixed_point!(MobileNumber, s);
    fixed_point!(Name, s);

    if let Ok(cf) = CodiceFiscale::parse(s) {
        let _ = (
            cf.sex(),
            cf.birth_month_day(),
            cf.birthplace_code(),
            cf.is_omocodic(),
        );
    }
    for padding in [CompanyCfPadding::None, CompanyCfPadding::ZeroLeftTo16] {
        match normalize_company_cf(s, padding) {
            Ok(n) => assert_eq!(normalize_company_cf(&n, padding).ok(), Some(n)),
            Err(e) => check_error(&e),
        }
    }
    let _ = pec_domain::codice_fiscale::check_character(s);
    let _ = pec_domain::partita_iva::luhn_check_digit(s);

    // The JSON boundary: a persisted request and an incoming event, applied.
    if let Some((state, event)) = s.split_once('\n') {
        if let (Ok(state), Ok(event)) = (
            serde_json::from_str::<IdentityRequest>(state),
            serde_json::from_str::<IdentityEvent>(event),
        ) {
            match state.apply(event) {
                Ok(next) => {
                    let json = serde_json::to_string(&next).unwrap_or_default();
                    assert_eq!(
                        serde_json::from_str::<IdentityRequest>(&json).ok(),
                        Some(next)
                    );
                }
                Err(e) => check_error(&e),
            }
        }
    }
});
