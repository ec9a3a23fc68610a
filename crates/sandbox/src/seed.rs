//! Demo data and the sandbox's registries.
//!
//! # Demo accounts
//!
//! Password of every demo account: [`DEMO_PASSWORD`]. Sign in with the account id or any of its
//! PEC addresses.
//!
//! - `acc-demo-mario`
//!   - `mario.rossi@pec.sandbox.test`: privato cittadino Mario Rossi (`RSSMRA45C12F205C`),
//!     contact `mario.rossi@example.com`, *Da confermare*.
//!   - `studio.rossi@pec.sandbox.test`: professionista "Studio Rossi", *Completato*, qualified.
//! - `acc-demo-acme`
//!   - `amministrazione@pec.acme-srl.test`: impresa "ACME S.r.l." (`00743110157`), legal
//!     representative Chiara Conti (`CNTCHR83T41D969D`, in the registry), *Da confermare*.
//!   - `fatture@pec.acme-srl.test`: impresa "ACME Servizi S.r.l." (`07973780013`), no legal
//!     representative in the registry (→ documents needed), *Documenti mancanti*.
//!   - `vecchia@pec.acme-srl.test`: impresa "Vecchia Ditta S.p.A." (`03189950961`), ceased
//!     (→ "persona giuridica cancellata"), *Da confermare*.
//!
//! # Registries
//!
//! - Ceased companies: `03189950961` (Vecchia Ditta S.p.A.).
//! - Legal representatives: `00743110157` → `CNTCHR83T41D969D`; `12345670017` → `RSSMRA45C12F205C`.
//! - SPID test identities: Mario Rossi `RSSMRA45C12F205C`, Chiara Conti `CNTCHR83T41D969D`,
//!   Manuele Ricci `RCCMNL83S18D969H`.
//! - Remote-signature accounts (password [`REMOTE_SIGNATURE_PASSWORD`], OTP = TOTP of the secret,
//!   see [`crate::totp::code`]): `firma.mario` (secret `JBSWY3DPEHPK3PXP`, `RSSMRA45C12F205C`),
//!   `firma.chiara` (secret `KRSXG5CTMVRXEZLU`, `CNTCHR83T41D969D`).

use chrono::{DateTime, TimeDelta, Utc};
use pec_domain::{Contact, Holder, IdentityState};
use pec_provider::api::{ContactData, HolderData, PersonData};
use rusqlite::{Connection, params};

use crate::state::{hash_password, ts};

/// A demo account as a sign-in screen offers it: who it is and its PEC addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoAccount {
    /// The account id (also a login).
    pub login: &'static str,
    /// Whom it belongs to, as people read it.
    pub name: &'static str,
    /// Its mailboxes, in the order [`seed_demo`] creates them.
    pub mailboxes: &'static [&'static str],
}

/// The demo accounts [`seed_demo`] creates: the one list the app's sign-in screen offers.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        login: "acc-demo-mario",
        name: "Mario Rossi",
        mailboxes: &[
            "mario.rossi@pec.sandbox.test",
            "studio.rossi@pec.sandbox.test",
        ],
    },
    DemoAccount {
        login: "acc-demo-acme",
        name: "ACME S.r.l.",
        mailboxes: &[
            "amministrazione@pec.acme-srl.test",
            "fatture@pec.acme-srl.test",
            "vecchia@pec.acme-srl.test",
        ],
    },
];

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "Demo-Password-1";
/// Password of the remote-signature test accounts.
pub const REMOTE_SIGNATURE_PASSWORD: &str = "Firma-Password-1";

/// SPID test identities: (codice fiscale, first name, last name).
pub const SPID_IDENTITIES: &[(&str, &str, &str)] = &[
    ("RSSMRA45C12F205C", "Mario", "Rossi"),
    ("CNTCHR83T41D969D", "Chiara", "Conti"),
    ("RCCMNL83S18D969H", "Manuele", "Ricci"),
];

/// Remote-signature test accounts: (user, TOTP secret, codice fiscale).
pub const REMOTE_SIGNATURE_ACCOUNTS: &[(&str, &str, &str)] = &[
    ("firma.mario", "JBSWY3DPEHPK3PXP", "RSSMRA45C12F205C"),
    ("firma.chiara", "KRSXG5CTMVRXEZLU", "CNTCHR83T41D969D"),
];

/// Registry demo user: private area login and password.
pub const REGISTRY_DEMO_USER: &str = "mario.rossi";
/// The PEC on record for [`REGISTRY_DEMO_USER`].
pub const REGISTRY_DEMO_PEC: &str = "mario.rossi@pec.sandbox.test";
/// Renewal portal: ACME S.r.l. is registered (password [`DEMO_PASSWORD`]); ACME
/// Servizi S.r.l. (`07973780013`) is not.
pub const RENEWAL_REGISTERED_CF: &str = "00743110157";
/// A landline held by ACME S.r.l., for "addebito su conto telefonico".
pub const ACME_PHONE_LINE: &str = "0212345678";

/// Demo users of the registry and the renewal portal, only into portals without users.
pub fn seed_portals(conn: &mut Connection, now: DateTime<Utc>) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO phone_lines (number, company_tax_code) VALUES (?1, ?2)",
        params![ACME_PHONE_LINE, RENEWAL_REGISTERED_CF],
    )?;
    let registry_users: i64 =
        tx.query_row("SELECT COUNT(*) FROM registry_users", [], |r| r.get(0))?;
    if registry_users == 0 {
        tx.execute(
            "INSERT INTO registry_users (username, password_hash, last_name, first_name, tax_code,
             phone, mobile, fax, email, pec) VALUES (?1, ?2, 'Rossi', 'Mario', 'RSSMRA45C12F205C',
             '0612345678', '+393331234567', NULL, 'mario.rossi@example.com', ?3)",
            params![
                REGISTRY_DEMO_USER,
                hash_password(DEMO_PASSWORD)?,
                REGISTRY_DEMO_PEC
            ],
        )?;
    }
    let renewal_users: i64 =
        tx.query_row("SELECT COUNT(*) FROM renewal_users", [], |r| r.get(0))?;
    if renewal_users == 0 {
        tx.execute(
            "INSERT INTO renewal_users (tax_code, password_hash, email, mobile, mobile_verified, created_at)
             VALUES (?1, ?2, 'chiara.conti@example.com', '+393331234567', 1, ?3)",
            params![RENEWAL_REGISTERED_CF, hash_password(DEMO_PASSWORD)?, ts(now)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Registries: always present, refreshed on every start.
pub fn seed_registries(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO ceased_companies (tax_code, business_name) VALUES (?1, ?2)",
        params!["03189950961", "Vecchia Ditta S.p.A."],
    )?;
    for (company, person) in [
        ("00743110157", "CNTCHR83T41D969D"),
        ("12345670017", "RSSMRA45C12F205C"),
    ] {
        tx.execute(
            "INSERT OR IGNORE INTO legal_representatives VALUES (?1, ?2)",
            params![company, person],
        )?;
    }
    for (cf, first, last) in SPID_IDENTITIES {
        tx.execute(
            "INSERT OR IGNORE INTO spid_identities VALUES (?1, ?2, ?3)",
            params![cf, first, last],
        )?;
    }
    let has_remote: i64 =
        tx.query_row("SELECT COUNT(*) FROM remote_signature_accounts", [], |r| {
            r.get(0)
        })?;
    if has_remote == 0 {
        let hash = hash_password(REMOTE_SIGNATURE_PASSWORD)?;
        for (user, secret, cf) in REMOTE_SIGNATURE_ACCOUNTS {
            tx.execute(
                "INSERT INTO remote_signature_accounts (username, password_hash, totp_secret, tax_code)
                 VALUES (?1, ?2, ?3, ?4)",
                params![user, hash, secret, cf],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

struct DemoMailbox {
    address: &'static str,
    holder: HolderData,
    email: &'static str,
    state: IdentityState,
}

/// Demo accounts, only into a database without accounts (first start).
pub fn seed_demo(conn: &mut Connection, now: DateTime<Utc>) -> anyhow::Result<()> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))?;
    if count > 0 {
        return Ok(());
    }
    let hash = hash_password(DEMO_PASSWORD)?;
    let chiara = PersonData {
        first_name: "Chiara".into(),
        last_name: "Conti".into(),
        tax_code: "CNTCHR83T41D969D".into(),
    };
    let accounts = [
        (
            "acc-demo-mario",
            vec![
                DemoMailbox {
                    address: "mario.rossi@pec.sandbox.test",
                    holder: HolderData::PrivateCitizen {
                        first_name: "Mario".into(),
                        last_name: "Rossi".into(),
                        tax_code: "RSSMRA45C12F205C".into(),
                    },
                    email: "mario.rossi@example.com",
                    state: IdentityState::ToConfirm,
                },
                DemoMailbox {
                    address: "studio.rossi@pec.sandbox.test",
                    holder: HolderData::Professional {
                        name: "Studio Rossi".into(),
                        tax_code: "RSSMRA45C12F205C".into(),
                        vat_number: Some("12345670017".into()),
                    },
                    email: "studio@example.com",
                    state: IdentityState::Completed,
                },
            ],
        ),
        (
            "acc-demo-acme",
            vec![
                DemoMailbox {
                    address: "amministrazione@pec.acme-srl.test",
                    holder: HolderData::Company {
                        business_name: "ACME S.r.l.".into(),
                        tax_code: "00743110157".into(),
                        legal_representative: Some(chiara.clone()),
                    },
                    email: "chiara.conti@example.com",
                    state: IdentityState::ToConfirm,
                },
                DemoMailbox {
                    address: "fatture@pec.acme-srl.test",
                    holder: HolderData::Company {
                        business_name: "ACME Servizi S.r.l.".into(),
                        tax_code: "07973780013".into(),
                        legal_representative: Some(chiara),
                    },
                    email: "chiara.conti@example.com",
                    state: IdentityState::DocumentsMissing,
                },
                DemoMailbox {
                    address: "vecchia@pec.acme-srl.test",
                    holder: HolderData::Company {
                        business_name: "Vecchia Ditta S.p.A.".into(),
                        tax_code: "03189950961".into(),
                        legal_representative: None,
                    },
                    email: "chiara.conti@example.com",
                    state: IdentityState::ToConfirm,
                },
            ],
        ),
    ];
    let tx = conn.transaction()?;
    for (id, mailboxes) in accounts {
        tx.execute(
            "INSERT INTO accounts (id, password_hash, created_at) VALUES (?1, ?2, ?3)",
            params![id, hash, ts(now)],
        )?;
        for m in mailboxes {
            let holder: Holder = m
                .holder
                .to_domain()
                .map_err(|e| anyhow::anyhow!("demo holder: {e}"))?;
            let contact: Contact = ContactData {
                email: m.email.into(),
                mobile: Some("+393331234567".into()),
            }
            .to_domain()
            .map_err(|e| anyhow::anyhow!("demo contact: {e}"))?;
            insert_mailbox(&tx, id, m.address, &holder, &contact, m.state, now)?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Inserts a mailbox (expiring in about a year; qualified when `Completed`).
pub(crate) fn insert_mailbox(
    conn: &Connection,
    account_id: &str,
    address: &str,
    holder: &Holder,
    contact: &Contact,
    state: IdentityState,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let expires_on = (now + TimeDelta::days(300)).date_naive();
    conn.execute(
        "INSERT INTO mailboxes (address, account_id, holder, contact, identity_state, qualified, expires_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            address,
            account_id,
            serde_json::to_string(holder)?,
            serde_json::to_string(contact)?,
            serde_json::to_string(&state)?,
            state == IdentityState::Completed,
            expires_on.to_string()
        ],
    )?;
    Ok(())
}

/// Load-test data: `n` mailboxes (`box0000000@pec.bench.test`, …) under one account, inserted in
/// one transaction. Used by the `bench_status` example; skips work already done.
pub fn seed_bulk(
    conn: &mut Connection,
    account_id: &str,
    password: &str,
    n: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let have: i64 = conn.query_row(
        "SELECT COUNT(*) FROM mailboxes WHERE account_id = ?1",
        params![account_id],
        |r| r.get(0),
    )?;
    if usize::try_from(have).unwrap_or(0) >= n {
        return Ok(());
    }
    let holder = serde_json::to_string(
        &mario_holder()
            .to_domain()
            .map_err(|e| anyhow::anyhow!("bench holder: {e}"))?,
    )?;
    let contact = serde_json::to_string(
        &ContactData {
            email: "bench@example.com".into(),
            mobile: None,
        }
        .to_domain()
        .map_err(|e| anyhow::anyhow!("bench contact: {e}"))?,
    )?;
    let state = serde_json::to_string(&IdentityState::ToConfirm)?;
    let expires_on = (now + TimeDelta::days(300)).date_naive().to_string();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO accounts (id, password_hash, created_at) VALUES (?1, ?2, ?3)",
        params![account_id, hash_password(password)?, ts(now)],
    )?;
    {
        let mut stmt = tx.prepare(
            "INSERT OR IGNORE INTO mailboxes (address, account_id, holder, contact, identity_state, qualified, expires_on)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
        )?;
        for i in 0..n {
            stmt.execute(params![
                format!("box{i:07}@pec.bench.test"),
                account_id,
                holder,
                contact,
                state,
                expires_on
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn mario_holder() -> HolderData {
    HolderData::PrivateCitizen {
        first_name: "Mario".into(),
        last_name: "Rossi".into(),
        tax_code: "RSSMRA45C12F205C".into(),
    }
}
