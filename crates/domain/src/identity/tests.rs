//! The whole identity-request machine: every path of the seeds, every branch, and the complete
//! table of illegal transitions (every step × every event).

use super::*;
use crate::codice_fiscale::CodiceFiscale;
use crate::contact::MobileNumber;
use crate::mailbox::{Name, NaturalPerson};
use crate::partita_iva::TaxCode;

use IdentityEvent as E;
use IdentityRequest as S;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn contact() -> Contact {
    Contact {
        email: email("mario@example.it"),
        mobile: Some(MobileNumber::parse("3331234567").unwrap()),
    }
}

fn person() -> NaturalPerson {
    NaturalPerson {
        first_name: Name::parse("Mario").unwrap(),
        last_name: Name::parse("Rossi").unwrap(),
        tax_code: CodiceFiscale::parse("RSSMRA45C12F205C").unwrap(),
    }
}

fn company() -> HolderDraft {
    HolderDraft {
        holder: Holder::Company {
            business_name: Name::parse("Rossi S.r.l.").unwrap(),
            tax_code: TaxCode::parse("00743110157").unwrap(),
            legal_representative: Some(person()),
        },
        contact: contact(),
    }
}

fn professional() -> HolderDraft {
    HolderDraft {
        holder: Holder::Professional {
            name: Name::parse("Studio Rossi").unwrap(),
            tax_code: TaxCode::parse("RSSMRA45C12F205C").unwrap(),
            vat_number: None,
        },
        contact: contact(),
    }
}

fn citizen() -> HolderDraft {
    HolderDraft {
        holder: Holder::PrivateCitizen { person: person() },
        contact: Contact {
            email: email("maria@example.it"),
            mobile: None,
        },
    }
}

fn pn(s: &str) -> PracticeNumber {
    PracticeNumber::parse(s).unwrap()
}

/// Applies events in order, checking each succeeds; returns every state visited.
#[track_caller]
fn run(start: IdentityRequest, events: Vec<IdentityEvent>) -> Vec<IdentityRequest> {
    let mut states = vec![start];
    for e in events {
        let name = e.name();
        let cur = states.last().unwrap();
        let next = cur
            .apply(e)
            .unwrap_or_else(|err| panic!("{} --{name}--> {err}", cur.step_name()));
        states.push(next);
    }
    states
}

fn steps(states: &[IdentityRequest]) -> Vec<&'static str> {
    states.iter().map(IdentityRequest::step_name).collect()
}

/// Events from the start to `choosing_method` for a draft.
fn up_to_method(draft: &HolderDraft) -> Vec<IdentityEvent> {
    vec![
        E::ChooseRole {
            role: Role::HolderOrLegalRepresentative,
        },
        E::ChooseHolderKind {
            kind: draft.holder.kind(),
        },
        E::SubmitData {
            draft: draft.clone(),
        },
        E::ConfirmSummary,
    ]
}

fn identifying(draft: HolderDraft) -> IdentityRequest {
    S::Identifying {
        draft,
        method: IdentificationMethod::Spid,
    }
}

#[test]
fn happy_path_of_seed_000_for_a_company() {
    let d = company();
    let mut events = up_to_method(&d);
    events.extend([
        E::ChooseMethod {
            method: IdentificationMethod::Cns,
        },
        E::IdentificationSucceeded,
        E::Proceed,
        E::CompleteRequest {
            terms: TermsAcceptance::ALL_ACCEPTED,
            at: t("2026-11-22T10:00:00Z"),
        },
        E::ConfirmOtp {
            at: t("2026-11-22T10:00:30Z"),
        },
    ]);
    let states = run(IdentityRequest::new(), events);
    assert_eq!(
        steps(&states),
        [
            "choosing_role",
            "choosing_holder_kind",
            "entering_data",
            "summary",
            "choosing_method",
            "identifying",
            "identified",
            "accepting_terms",
            "otp_sent",
            "completed"
        ]
    );
    let last = states.last().unwrap();
    assert_eq!(
        last,
        &S::Completed {
            draft: d,
            method: IdentificationMethod::Cns
        }
    );
    assert!(last.is_terminal());
    assert_eq!(last.state(), IdentityState::Completed);
    assert_eq!(last.outcome(), None);
    // Every step before the end is "Da confermare".
    for s in &states[..states.len() - 1] {
        assert_eq!(s.state(), IdentityState::ToConfirm, "{}", s.step_name());
        assert!(!s.is_terminal());
        assert_eq!(s.outcome(), None);
    }
}

#[test]
fn every_holder_kind_with_every_method_completes() {
    for d in [company(), professional(), citizen()] {
        for method in IdentificationMethod::ALL {
            let mut events = up_to_method(&d);
            events.extend([
                E::ChooseMethod { method },
                E::IdentificationSucceeded,
                E::Proceed,
                E::CompleteRequest {
                    terms: TermsAcceptance::ALL_ACCEPTED,
                    at: t("2026-11-22T10:00:00Z"),
                },
                E::ConfirmOtp {
                    at: t("2026-11-22T10:00:59Z"),
                },
            ]);
            let states = run(S::default(), events);
            assert_eq!(
                states.last().unwrap(),
                &S::Completed {
                    draft: d.clone(),
                    method
                }
            );
        }
    }
}

#[test]
fn delegation_when_not_the_holder() {
    let states = run(
        S::new(),
        vec![
            E::ChooseRole { role: Role::Other },
            E::SubmitHolderEmail {
                holder_email: email("titolare@example.it"),
            },
        ],
    );
    assert_eq!(
        steps(&states),
        [
            "choosing_role",
            "awaiting_holder_email",
            "delegation_link_sent"
        ]
    );
    let last = states.last().unwrap();
    assert_eq!(
        last,
        &S::DelegationLinkSent {
            holder_email: email("titolare@example.it")
        }
    );
    assert!(last.is_terminal());
    assert_eq!(last.state(), IdentityState::ToConfirm);
}

#[test]
fn back_navigation() {
    let d = citizen();
    assert_eq!(
        S::AwaitingHolderEmail.apply(E::Back).unwrap(),
        S::ChoosingRole
    );
    assert_eq!(
        S::ChoosingHolderKind.apply(E::Back).unwrap(),
        S::ChoosingRole
    );
    assert_eq!(
        S::EnteringData {
            kind: HolderKind::Company,
            previous: None
        }
        .apply(E::Back)
        .unwrap(),
        S::ChoosingHolderKind
    );
    // Summary → back keeps the data to prefill the form (the providers' guide: "tornare indietro in caso di errori").
    assert_eq!(
        S::Summary { draft: d.clone() }.apply(E::Back).unwrap(),
        S::EnteringData {
            kind: HolderKind::PrivateCitizen,
            previous: Some(d.clone())
        }
    );
    assert_eq!(
        S::ChoosingMethod { draft: d.clone() }
            .apply(E::Back)
            .unwrap(),
        S::Summary { draft: d.clone() }
    );
    // Fix the data and go on: entering data again replaces the draft.
    let fixed = HolderDraft {
        contact: Contact {
            email: email("maria.fixed@example.it"),
            mobile: None,
        },
        ..d.clone()
    };
    let states = run(
        S::Summary { draft: d },
        vec![
            E::Back,
            E::SubmitData {
                draft: fixed.clone(),
            },
            E::ConfirmSummary,
        ],
    );
    assert_eq!(states.last().unwrap(), &S::ChoosingMethod { draft: fixed });
}

#[test]
fn changing_holder_kind_after_going_back() {
    let states = run(
        S::ChoosingHolderKind,
        vec![
            E::ChooseHolderKind {
                kind: HolderKind::Company,
            },
            E::Back,
            E::ChooseHolderKind {
                kind: HolderKind::PrivateCitizen,
            },
            E::SubmitData { draft: citizen() },
        ],
    );
    assert_eq!(states.last().unwrap(), &S::Summary { draft: citizen() });
}

#[test]
fn submitted_data_must_match_the_chosen_kind() {
    let s = S::EnteringData {
        kind: HolderKind::Company,
        previous: None,
    };
    let e = s.apply(E::SubmitData { draft: citizen() }).unwrap_err();
    assert_eq!(
        e,
        TransitionError::HolderKindMismatch {
            expected: HolderKind::Company,
            got: HolderKind::PrivateCitizen
        }
    );
    assert_eq!(e.code(), "identity.holder_kind_mismatch");
    assert!(e.message(Lang::It).contains("Privato cittadino"));
    assert!(e.message(Lang::En).contains("Private citizen"));
}

#[test]
fn abandoned_identification_returns_to_method_choice() {
    let states = run(
        identifying(citizen()),
        vec![
            E::IdentificationAbandoned,
            E::ChooseMethod {
                method: IdentificationMethod::Webcam,
            },
            E::IdentificationSucceeded,
        ],
    );
    assert_eq!(
        steps(&states),
        [
            "identifying",
            "choosing_method",
            "identifying",
            "identified"
        ]
    );
}

#[test]
fn data_mismatch_then_retry() {
    let d = professional();
    let states = run(
        identifying(d.clone()),
        vec![
            E::DataMismatchFound,
            E::Retry,
            E::SubmitData { draft: d.clone() },
            E::ConfirmSummary,
            E::ChooseMethod {
                method: IdentificationMethod::Cie,
            },
            E::IdentificationSucceeded,
        ],
    );
    let mismatch = &states[1];
    assert_eq!(mismatch.step_name(), "data_mismatch");
    assert_eq!(mismatch.outcome(), Some(IdentityOutcome::DataMismatch));
    assert_eq!(mismatch.state(), IdentityState::ToConfirm);
    assert_eq!(
        states[2],
        S::EnteringData {
            kind: HolderKind::Professional,
            previous: Some(d)
        }
    );
    assert_eq!(states.last().unwrap().step_name(), "identified");
}

#[test]
fn data_mismatch_then_change_holder_then_start_again() {
    let states = run(
        identifying(citizen()),
        vec![E::DataMismatchFound, E::ChangeHolder, E::HolderChanged],
    );
    assert_eq!(
        states[2],
        S::HolderChangeRequired {
            reason: HolderChangeReason::DataMismatch
        }
    );
    assert_eq!(states[2].state(), IdentityState::ToConfirm);
    assert_eq!(states[3], S::ChoosingRole);
}

#[test]
fn legal_person_ceased_requires_holder_change_first() {
    let ceased = identifying(company())
        .apply(E::LegalPersonCeasedFound)
        .unwrap();
    assert_eq!(ceased.outcome(), Some(IdentityOutcome::LegalPersonCeased));
    assert_eq!(ceased.state(), IdentityState::ToConfirm);
    // No retry before changing the holder.
    assert_eq!(
        ceased.apply(E::Retry).unwrap_err(),
        TransitionError::Illegal {
            step: "legal_person_ceased",
            event: "retry"
        }
    );
    let change = ceased.apply(E::ChangeHolder).unwrap();
    assert_eq!(
        change,
        S::HolderChangeRequired {
            reason: HolderChangeReason::LegalPersonCeased
        }
    );
    assert_eq!(change.apply(E::HolderChanged).unwrap(), S::ChoosingRole);
}

#[test]
fn legal_representative_check_failed_documents_loop() {
    let d = company();
    let states = run(
        identifying(d.clone()),
        vec![
            E::LegalRepresentativeCheckFailed {
                practice_number: pn("PR-2026-0042"),
            },
            E::UploadDocuments,
            E::ChecksFailed,
            E::UploadDocuments,
            E::ChecksPassed,
        ],
    );
    assert_eq!(
        steps(&states),
        [
            "identifying",
            "documents_missing",
            "checks_in_progress",
            "documents_missing",
            "checks_in_progress",
            "completed"
        ]
    );
    let expected_states = [
        IdentityState::ToConfirm,
        IdentityState::DocumentsMissing,
        IdentityState::ChecksInProgress,
        IdentityState::DocumentsMissing,
        IdentityState::ChecksInProgress,
        IdentityState::Completed,
    ];
    for (s, want) in states.iter().zip(expected_states) {
        assert_eq!(s.state(), want, "{}", s.step_name());
    }
    assert_eq!(
        states[1].outcome(),
        Some(IdentityOutcome::LegalRepresentativeCheckFailed {
            practice_number: pn("PR-2026-0042")
        })
    );
    // The practice number is kept through the loop.
    assert_eq!(
        states[4].outcome(),
        Some(IdentityOutcome::ChecksInProgress {
            practice_number: pn("PR-2026-0042")
        })
    );
    assert_eq!(
        states[5],
        S::Completed {
            draft: d,
            method: IdentificationMethod::Spid
        }
    );
}

#[test]
fn documents_missing_other_exits() {
    let d = company();
    let missing = S::DocumentsMissing {
        draft: d.clone(),
        method: IdentificationMethod::Spid,
        practice_number: pn("7"),
    };
    assert_eq!(
        missing.apply(E::ChangeLegalRepresentative).unwrap(),
        S::EnteringData {
            kind: HolderKind::Company,
            previous: Some(d)
        }
    );
    assert_eq!(
        missing.apply(E::ChangeHolder).unwrap(),
        S::HolderChangeRequired {
            reason: HolderChangeReason::LegalRepresentativeCheckFailed
        }
    );
}

#[test]
fn legal_person_outcomes_only_for_companies() {
    for d in [professional(), citizen()] {
        let s = identifying(d);
        for e in [
            E::LegalPersonCeasedFound,
            E::LegalRepresentativeCheckFailed {
                practice_number: pn("1"),
            },
        ] {
            let err = s.apply(e).unwrap_err();
            assert_eq!(err, TransitionError::NotLegalPerson);
            assert_eq!(err.code(), "identity.not_legal_person");
        }
    }
}

#[test]
fn all_conditions_must_be_accepted() {
    let s = S::AcceptingTerms {
        draft: citizen(),
        method: IdentificationMethod::Spid,
    };
    for (a, b) in [(false, false), (true, false), (false, true)] {
        let err = s
            .apply(E::CompleteRequest {
                terms: TermsAcceptance {
                    service_conditions: a,
                    contract_information: b,
                },
                at: t("2026-11-22T10:00:00Z"),
            })
            .unwrap_err();
        assert_eq!(err, TransitionError::TermsNotAccepted);
        assert_eq!(err.code(), "identity.terms_not_accepted");
    }
}

#[test]
fn otp_lasts_60_seconds_and_can_be_sent_again() {
    let otp = S::AcceptingTerms {
        draft: citizen(),
        method: IdentificationMethod::Spid,
    }
    .apply(E::CompleteRequest {
        terms: TermsAcceptance::ALL_ACCEPTED,
        at: t("2026-11-22T10:00:00Z"),
    })
    .unwrap();
    assert!(!otp.otp_expired(t("2026-11-22T10:00:59Z")));
    assert!(otp.otp_expired(t("2026-11-22T10:01:00Z")));
    assert!(!S::ChoosingRole.otp_expired(t("2030-01-01T00:00:00Z")));

    let late = otp
        .apply(E::ConfirmOtp {
            at: t("2026-11-22T10:01:00Z"),
        })
        .unwrap_err();
    assert_eq!(late, TransitionError::OtpExpired);
    assert_eq!(late.code(), "identity.otp_expired");

    // "Invia di nuovo" twice, then confirm in time.
    let resent = run(
        otp,
        vec![
            E::ResendOtp {
                at: t("2026-11-22T10:01:05Z"),
            },
            E::ResendOtp {
                at: t("2026-11-22T10:02:10Z"),
            },
        ],
    )
    .pop()
    .unwrap();
    let S::OtpSent {
        sent_at, resends, ..
    } = &resent
    else {
        panic!("expected otp_sent, got {}", resent.step_name());
    };
    assert_eq!((*sent_at, *resends), (t("2026-11-22T10:02:10Z"), 2));
    let done = resent
        .apply(E::ConfirmOtp {
            at: t("2026-11-22T10:02:30Z"),
        })
        .unwrap();
    assert_eq!(done.state(), IdentityState::Completed);
}

/// L9: a request whose codes ran out is not stuck at the OTP step: it starts over from the
/// role question (and must identify again before a new code is sent).
#[test]
fn an_otp_step_can_start_over() {
    let otp = S::OtpSent {
        draft: citizen(),
        method: IdentificationMethod::Spid,
        sent_at: t("2026-11-22T10:00:00Z"),
        resends: 5,
    };
    let again = otp.apply(E::StartOver).unwrap();
    assert_eq!(again, S::ChoosingRole);
    assert!(!again.is_terminal());
    // Only from there: elsewhere the usual ways back apply.
    for state in [
        S::ChoosingRole,
        S::AcceptingTerms {
            draft: citizen(),
            method: IdentificationMethod::Spid,
        },
    ] {
        assert!(matches!(
            state.apply(E::StartOver),
            Err(TransitionError::Illegal {
                event: "start_over",
                ..
            })
        ));
    }
}

// ---- the table of illegal transitions ----

/// One sample of every step, all with a company draft so that every legal event is accepted.
fn all_steps() -> Vec<IdentityRequest> {
    let d = company();
    let m = IdentificationMethod::Spid;
    vec![
        S::ChoosingRole,
        S::AwaitingHolderEmail,
        S::DelegationLinkSent {
            holder_email: email("titolare@example.it"),
        },
        S::ChoosingHolderKind,
        S::EnteringData {
            kind: HolderKind::Company,
            previous: None,
        },
        S::Summary { draft: d.clone() },
        S::ChoosingMethod { draft: d.clone() },
        S::Identifying {
            draft: d.clone(),
            method: m,
        },
        S::Identified {
            draft: d.clone(),
            method: m,
        },
        S::AcceptingTerms {
            draft: d.clone(),
            method: m,
        },
        S::OtpSent {
            draft: d.clone(),
            method: m,
            sent_at: t("2026-11-22T10:00:00Z"),
            resends: 0,
        },
        S::Completed {
            draft: d.clone(),
            method: m,
        },
        S::DataMismatch {
            draft: d.clone(),
            method: m,
        },
        S::LegalPersonCeased { draft: d.clone() },
        S::DocumentsMissing {
            draft: d.clone(),
            method: m,
            practice_number: pn("42"),
        },
        S::ChecksInProgress {
            draft: d,
            method: m,
            practice_number: pn("42"),
        },
        S::HolderChangeRequired {
            reason: HolderChangeReason::DataMismatch,
        },
    ]
}

/// One sample of every event, valid wherever the event is legal.
fn all_events() -> Vec<IdentityEvent> {
    vec![
        E::ChooseRole {
            role: Role::HolderOrLegalRepresentative,
        },
        E::SubmitHolderEmail {
            holder_email: email("titolare@example.it"),
        },
        E::ChooseHolderKind {
            kind: HolderKind::Company,
        },
        E::SubmitData { draft: company() },
        E::ConfirmSummary,
        E::Back,
        E::ChooseMethod {
            method: IdentificationMethod::Cie,
        },
        E::IdentificationSucceeded,
        E::IdentificationAbandoned,
        E::DataMismatchFound,
        E::LegalPersonCeasedFound,
        E::LegalRepresentativeCheckFailed {
            practice_number: pn("42"),
        },
        E::Proceed,
        E::CompleteRequest {
            terms: TermsAcceptance::ALL_ACCEPTED,
            at: t("2026-11-22T10:00:10Z"),
        },
        E::ResendOtp {
            at: t("2026-11-22T10:00:20Z"),
        },
        E::ConfirmOtp {
            at: t("2026-11-22T10:00:30Z"),
        },
        E::StartOver,
        E::Retry,
        E::ChangeHolder,
        E::ChangeLegalRepresentative,
        E::UploadDocuments,
        E::ChecksPassed,
        E::ChecksFailed,
        E::HolderChanged,
    ]
}

/// The legal (step, event, next step) triples: everything else must be rejected.
const LEGAL: &[(&str, &str, &str)] = &[
    ("choosing_role", "choose_role", "choosing_holder_kind"),
    (
        "awaiting_holder_email",
        "submit_holder_email",
        "delegation_link_sent",
    ),
    ("awaiting_holder_email", "back", "choosing_role"),
    (
        "choosing_holder_kind",
        "choose_holder_kind",
        "entering_data",
    ),
    ("choosing_holder_kind", "back", "choosing_role"),
    ("entering_data", "submit_data", "summary"),
    ("entering_data", "back", "choosing_holder_kind"),
    ("summary", "confirm_summary", "choosing_method"),
    ("summary", "back", "entering_data"),
    ("choosing_method", "choose_method", "identifying"),
    ("choosing_method", "back", "summary"),
    ("identifying", "identification_succeeded", "identified"),
    ("identifying", "identification_abandoned", "choosing_method"),
    ("identifying", "data_mismatch_found", "data_mismatch"),
    (
        "identifying",
        "legal_person_ceased_found",
        "legal_person_ceased",
    ),
    (
        "identifying",
        "legal_representative_check_failed",
        "documents_missing",
    ),
    ("identified", "proceed", "accepting_terms"),
    ("accepting_terms", "complete_request", "otp_sent"),
    ("otp_sent", "resend_otp", "otp_sent"),
    ("otp_sent", "confirm_otp", "completed"),
    ("otp_sent", "start_over", "choosing_role"),
    ("data_mismatch", "retry", "entering_data"),
    ("data_mismatch", "change_holder", "holder_change_required"),
    (
        "legal_person_ceased",
        "change_holder",
        "holder_change_required",
    ),
    (
        "documents_missing",
        "upload_documents",
        "checks_in_progress",
    ),
    (
        "documents_missing",
        "change_legal_representative",
        "entering_data",
    ),
    (
        "documents_missing",
        "change_holder",
        "holder_change_required",
    ),
    ("checks_in_progress", "checks_passed", "completed"),
    ("checks_in_progress", "checks_failed", "documents_missing"),
    ("holder_change_required", "holder_changed", "choosing_role"),
];

#[test]
fn transition_table_is_complete_and_everything_else_is_illegal() {
    let mut legal_seen = 0;
    let mut illegal_seen = 0;
    for state in all_steps() {
        for event in all_events() {
            let (step, name) = (state.step_name(), event.name());
            let expected = LEGAL
                .iter()
                .find(|(s, e, _)| *s == step && *e == name)
                .map(|(_, _, next)| *next);
            match (expected, state.apply(event)) {
                (Some(next), Ok(got)) => {
                    assert_eq!(got.step_name(), next, "{step} --{name}-->");
                    legal_seen += 1;
                }
                (None, Err(err)) => {
                    assert_eq!(err, TransitionError::Illegal { step, event: name });
                    assert_eq!(err.code(), "identity.illegal_transition");
                    illegal_seen += 1;
                }
                (Some(_), Err(err)) => panic!("{step} --{name}--> should be legal, got {err}"),
                (None, Ok(got)) => {
                    panic!(
                        "{step} --{name}--> should be illegal, got {}",
                        got.step_name()
                    )
                }
            }
        }
    }
    assert_eq!(legal_seen, LEGAL.len());
    assert_eq!(legal_seen + illegal_seen, 17 * 24);
}

#[test]
fn terminal_steps_accept_nothing() {
    for state in all_steps().into_iter().filter(IdentityRequest::is_terminal) {
        for event in all_events() {
            assert!(state.apply(event).is_err(), "{}", state.step_name());
        }
    }
}

#[test]
fn illegal_transition_error_is_localised() {
    let err = S::ChoosingRole.apply(E::ConfirmOtp {
        at: t("2026-11-22T10:00:00Z"),
    });
    let l = err.unwrap_err().to_localized();
    assert_eq!(l.code, "identity.illegal_transition");
    assert!(l.message_it.contains("confirm_otp") && l.message_it.contains("choosing_role"));
    assert!(l.message_en.contains("not possible"));
    for e in [
        TransitionError::NotLegalPerson,
        TransitionError::TermsNotAccepted,
        TransitionError::OtpExpired,
        TransitionError::PracticeNumber,
    ] {
        assert!(e.code().starts_with("identity."));
        assert_ne!(e.message(Lang::It), e.message(Lang::En));
    }
}

// ---- serde: the API contract and resumable drafts ----

#[test]
fn every_step_and_event_round_trips_through_json_with_its_tag() {
    for state in all_steps() {
        let v = serde_json::to_value(&state).unwrap();
        assert_eq!(v["step"], state.step_name());
        let back: IdentityRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, state);
    }
    for event in all_events() {
        let v = serde_json::to_value(&event).unwrap();
        assert_eq!(v["type"], event.name());
        let back: IdentityEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn a_persisted_draft_resumes_where_it_stopped() {
    let states = run(S::new(), up_to_method(&citizen()));
    let saved = serde_json::to_string(states.last().unwrap()).unwrap();
    let resumed: IdentityRequest = serde_json::from_str(&saved).unwrap();
    let next = resumed
        .apply(E::ChooseMethod {
            method: IdentificationMethod::Spid,
        })
        .unwrap();
    assert_eq!(next.step_name(), "identifying");
}

#[test]
fn json_shapes() {
    let s = S::OtpSent {
        draft: citizen(),
        method: IdentificationMethod::DigitalSignature,
        sent_at: t("2026-11-22T10:00:00Z"),
        resends: 1,
    };
    assert_eq!(
        serde_json::to_value(&s).unwrap(),
        serde_json::json!({
            "step": "otp_sent",
            "draft": {
                "holder": {
                    "kind": "private_citizen",
                    "first_name": "Mario",
                    "last_name": "Rossi",
                    "tax_code": "RSSMRA45C12F205C"
                },
                "contact": {"email": "maria@example.it"}
            },
            "method": "digital_signature",
            "sent_at": "2026-11-22T10:00:00Z",
            "resends": 1
        })
    );
    let e: IdentityEvent = serde_json::from_value(serde_json::json!({
        "type": "legal_representative_check_failed",
        "practice_number": " 2026/123 "
    }))
    .unwrap();
    assert_eq!(
        e,
        E::LegalRepresentativeCheckFailed {
            practice_number: pn("2026/123")
        }
    );
    // Invalid data cannot enter through JSON.
    for bad in [
        serde_json::json!({"type": "legal_representative_check_failed", "practice_number": "  "}),
        serde_json::json!({"type": "submit_holder_email", "holder_email": "nope"}),
        serde_json::json!({"type": "choose_method", "method": "carrier_pigeon"}),
        serde_json::json!({"type": "teleport"}),
    ] {
        assert!(
            serde_json::from_value::<IdentityEvent>(bad.clone()).is_err(),
            "{bad}"
        );
    }
    assert!(
        serde_json::from_value::<IdentityRequest>(serde_json::json!({"step": "summary"})).is_err()
    );
    let outcome = IdentityOutcome::ChecksInProgress {
        practice_number: pn("9"),
    };
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        serde_json::json!({"outcome": "checks_in_progress", "practice_number": "9"})
    );
}

#[test]
fn labels_are_the_providers_words() {
    let it: Vec<_> = IdentityState::ALL
        .iter()
        .map(|s| s.label(Lang::It))
        .collect();
    assert_eq!(
        it,
        [
            "Da confermare",
            "Verifiche in corso",
            "Documenti mancanti",
            "Completato"
        ]
    );
    let en: Vec<_> = IdentityState::ALL
        .iter()
        .map(|s| s.label(Lang::En))
        .collect();
    assert_eq!(
        en,
        [
            "To be confirmed",
            "Checks in progress",
            "Documents missing",
            "Completed"
        ]
    );
    let json: Vec<_> = IdentityState::ALL
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
    assert_eq!(
        json,
        [
            "to_confirm",
            "checks_in_progress",
            "documents_missing",
            "completed"
        ]
    );
    assert_eq!(
        IdentityOutcome::DataMismatch.label(Lang::It),
        "Dati non corrispondenti"
    );
    assert_eq!(
        IdentityOutcome::LegalPersonCeased.label(Lang::It),
        "Persona giuridica cancellata"
    );
    for o in [
        IdentityOutcome::DataMismatch,
        IdentityOutcome::LegalPersonCeased,
        IdentityOutcome::LegalRepresentativeCheckFailed {
            practice_number: pn("1"),
        },
        IdentityOutcome::ChecksInProgress {
            practice_number: pn("1"),
        },
    ] {
        assert_ne!(o.label(Lang::It), o.label(Lang::En));
    }
    for m in IdentificationMethod::ALL {
        assert!(!m.label(Lang::It).is_empty() && !m.label(Lang::En).is_empty());
    }
    let card: Vec<_> = IdentificationMethod::ALL
        .into_iter()
        .filter(|m| m.needs_card_reader())
        .collect();
    assert_eq!(
        card,
        [
            IdentificationMethod::Cie,
            IdentificationMethod::Cns,
            IdentificationMethod::DigitalSignature
        ]
    );
}

#[test]
fn practice_numbers() {
    assert_eq!(pn("  A-1 ").as_str(), "A-1");
    assert_eq!(pn("A-1").to_string(), "A-1");
    for bad in ["", "   ", "a\nb"] {
        assert_eq!(
            PracticeNumber::parse(bad).unwrap_err(),
            TransitionError::PracticeNumber
        );
    }
    assert!(PracticeNumber::parse(&"9".repeat(64)).is_ok());
    assert!(PracticeNumber::parse(&"9".repeat(65)).is_err());
}

#[test]
fn provider_state_and_outcome_of_every_step() {
    for s in all_steps() {
        let (state, outcome) = match s.step_name() {
            "documents_missing" => (
                IdentityState::DocumentsMissing,
                Some("legal_representative_check_failed"),
            ),
            "checks_in_progress" => (IdentityState::ChecksInProgress, Some("checks_in_progress")),
            "completed" => (IdentityState::Completed, None),
            "data_mismatch" => (IdentityState::ToConfirm, Some("data_mismatch")),
            "legal_person_ceased" => (IdentityState::ToConfirm, Some("legal_person_ceased")),
            _ => (IdentityState::ToConfirm, None),
        };
        assert_eq!(s.state(), state, "{}", s.step_name());
        let got = s
            .outcome()
            .map(|o| serde_json::to_value(o).unwrap()["outcome"].clone());
        assert_eq!(
            got,
            outcome.map(serde_json::Value::from),
            "{}",
            s.step_name()
        );
    }
}

mod random_walks {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of events from the start: no panic, every rejected event leaves the
        /// request as it was (apply takes `&self`), every reached step survives a JSON round trip,
        /// and only `completed` reports the provider state "Completato".
        #[test]
        fn random_event_sequences(picks in prop::collection::vec(0usize..23, 0..60)) {
            let events = all_events();
            let mut state = IdentityRequest::new();
            for i in picks {
                let event = events[i].clone();
                if let Ok(next) = state.apply(event) {
                    let json = serde_json::to_string(&next).unwrap();
                    let back: IdentityRequest = serde_json::from_str(&json).unwrap();
                    prop_assert_eq!(&back, &next);
                    prop_assert_eq!(
                        next.state() == IdentityState::Completed,
                        next.step_name() == "completed"
                    );
                    state = next;
                }
            }
        }
    }
}
