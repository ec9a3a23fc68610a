//! Everything pec-backup reads from the server besides the IMAP protocol itself (which
//! async-imap/imap-proto parse): message headers for the index, and folder names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pec_backup::{MessageSummary, decode_mutf7, folder_dir_components};

fuzz_target!(|data: &[u8]| {
    let summary = MessageSummary::parse(data);
    // Whatever the bytes, the index gets a type and its fields serialise.
    let _ = summary.pec_type().as_str();
    if let Ok(name) = std::str::from_utf8(data) {
        let decoded = decode_mutf7(name);
        // Decoding never loses the fact that there was a name.
        assert!(name.is_empty() || !decoded.is_empty());
        for part in folder_dir_components(name, Some("/")) {
            // A directory component never climbs out of the backup folder or hides itself.
            assert!(!part.is_empty());
            assert!(!part.starts_with('.'));
            assert!(!part.contains('/') && !part.contains('\\'));
        }
    }
});
