//! The texts the holder reads at "condizioni di servizio" before accepting them: the sandbox's
//! own (a real provider serves its contract documents here). The acceptance the request
//! stores refers to `VERSION`.

use pec_provider::api::{ConditionsData, ConditionsText};

/// Version of the texts below; a change of wording gets a new version.
pub(crate) const VERSION: &str = "2026-01";

pub(crate) fn current() -> ConditionsData {
    ConditionsData {
        version: VERSION.to_owned(),
        service_conditions: ConditionsText {
            title_it: "Condizioni di servizio".to_owned(),
            title_en: "Terms of service".to_owned(),
            body_it: "\
Il servizio di Posta Elettronica Certificata qualificata è fornito dal Gestore al titolare \
della casella identificato secondo il Regolamento (UE) n. 910/2014 (eIDAS). Il titolare \
custodisce le credenziali di accesso e il secondo fattore di autenticazione e ne risponde.

Il Gestore conserva i log dei messaggi per 30 mesi e rilascia le ricevute di accettazione e \
di consegna. La casella resta attiva fino alla scadenza indicata nel contratto; dopo la \
scadenza può essere rinnovata per 30 giorni, poi è cessata e i messaggi non sono più \
recuperabili.

Il titolare comunica al Gestore ogni variazione dei dati forniti per l'identificazione."
                .to_owned(),
            body_en: "\
The qualified certified e-mail service is provided by the Provider to the mailbox holder \
identified under Regulation (EU) No 910/2014 (eIDAS). The holder keeps the sign-in \
credentials and the second authentication factor safe and is responsible for them.

The Provider keeps the message logs for 30 months and issues the acceptance and delivery \
receipts. The mailbox stays active until the expiry stated in the contract; after it, it can \
be renewed for 30 days, then it is ceased and its messages can no longer be recovered.

The holder tells the Provider about any change of the data given for the identification."
                .to_owned(),
        },
        contract_information: ConditionsText {
            title_it: "Informativa contrattuale".to_owned(),
            title_en: "Contract information".to_owned(),
            body_it: "\
I dati personali raccolti durante l'identificazione (nome, cognome, codice fiscale, \
documento, contatti) sono trattati dal Gestore, titolare del trattamento, per \
l'adeguamento della casella agli standard europei e per gli obblighi di legge, ai sensi del \
Regolamento (UE) 2016/679 (GDPR).

I dati sono conservati per la durata del contratto e per i 20 anni successivi richiesti \
dalla normativa sui servizi fiduciari qualificati. Puoi chiedere accesso, rettifica e \
limitazione scrivendo al servizio clienti del Gestore."
                .to_owned(),
            body_en: "\
The personal data collected during the identification (name, surname, tax code, document, \
contacts) are processed by the Provider, as data controller, to bring the mailbox to the \
European standard and to meet legal obligations, under Regulation (EU) 2016/679 (GDPR).

The data are kept for the length of the contract and for the following 20 years required \
by the rules on qualified trust services. You can ask for access, correction and \
restriction by writing to the Provider's customer service."
                .to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_complete_in_both_languages() {
        let c = current();
        for t in [&c.service_conditions, &c.contract_information] {
            for s in [&t.title_it, &t.title_en, &t.body_it, &t.body_en] {
                assert!(!s.trim().is_empty());
                assert!(s.len() <= 20_000);
            }
            assert!(
                t.body_it.contains("\n\n"),
                "paragraphs separated by a blank line"
            );
        }
    }
}
