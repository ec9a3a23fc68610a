//! The real Secret Service (gnome-keyring on a private D-Bus session bus, started by the
//! project's test command, which sets `PEC_KEYRING_RIG=1`). `secret-tool`, a separate
//! client of the same service, confirms what we stored and that sign-out removed it.

use std::process::Command;

use pec_vault::{Secret, SecretKey, Vault};

fn require_rig() {
    assert_eq!(
        std::env::var("PEC_KEYRING_RIG").as_deref(),
        Ok("1"),
        "this test needs a Secret Service on a D-Bus session bus: run it through the \
         project's test command (./scripts/test.sh), which starts one"
    );
}

fn secret_tool_lookup(service: &str, user: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", user])
        .output()
        .expect("secret-tool runs (Debian package libsecret-tools)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn session_token_lives_in_the_real_keyring_until_deleted() {
    require_rig();
    let vault = Vault::system("it.pecdesktop.test").expect("Secret Service reachable");
    let key = SecretKey::session("http://127.0.0.1:1", "mario.rossi@pec.example.it");
    let _ = vault.delete(&key);

    vault
        .put(&key, &Secret::new("token-from-the-test".into()))
        .unwrap();
    assert_eq!(
        vault.get(&key).unwrap().unwrap().expose(),
        "token-from-the-test"
    );

    let (service, user) = vault.item_name(&key);
    assert_eq!(
        secret_tool_lookup(&service, &user).as_deref(),
        Some("token-from-the-test"),
        "another Secret Service client sees the item"
    );

    // A second vault (as after an app restart) reads the same item.
    let again = Vault::system("it.pecdesktop.test").unwrap();
    assert!(again.get(&key).unwrap().is_some());

    assert!(vault.delete(&key).unwrap());
    assert!(vault.get(&key).unwrap().is_none());
    assert_eq!(
        secret_tool_lookup(&service, &user),
        None,
        "gone for everyone"
    );
}
