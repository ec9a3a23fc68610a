//! The step-by-step guide a phone opens from the app's "Apri su altro dispositivo" QR code:
//! plain HTML, readable on a small screen, in Italian or English.

use axum::response::Html;

const HEAD: &str = "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head><body>";

fn page(lang: &str, title: &str, steps: &[&str], note: &str) -> Html<String> {
    let head = HEAD.replace("{lang}", lang).replace("{title}", title);
    let items: String = steps.iter().map(|s| format!("<li>{s}</li>")).collect();
    Html(format!(
        "{head}<h1>{title}</h1><ol>{items}</ol><p>{note}</p></body></html>"
    ))
}

/// `GET /guida/conferma-identita`.
pub(crate) async fn identity_it() -> Html<String> {
    page(
        "it",
        "Guida alla conferma dell'identità",
        &[
            "Nell'app, apri la casella e clicca su <b>Conferma identità</b> (anche dal banner o dalla campanella).",
            "Indica se sei il legale rappresentante o l'intestatario della casella. Se non lo sei, inserisci l'e-mail del titolare: riceverà un link per procedere in autonomia.",
            "Scegli il tipo di intestatario (impresa/società, professionista/ditta individuale/artigiano, privato cittadino) e inserisci i dati e i contatti.",
            "Controlla il riepilogo: <b>Salva e procedi</b>, oppure <b>Indietro</b> per correggere.",
            "Scegli la modalità: SPID, CNS o Tessera sanitaria, firma digitale, firma remota, webcam (la CIE arriverà presto).",
            "Dopo l'identificazione clicca su <b>PROCEDI</b>, accetta le condizioni e clicca su <b>Completa la richiesta di identificazione</b>.",
            "Inserisci il codice OTP ricevuto all'e-mail di contatto entro 60 secondi (altrimenti <b>Invia di nuovo</b>) e clicca su <b>Conferma</b>.",
            "Accanto alla casella compare la stella europea. Attiva poi la verifica in due passaggi.",
        ],
        "Il messaggio di identificazione avvenuta con successo arriva sia sulla casella PEC sia sulla casella di posta ordinaria.",
    )
}

/// `GET /guide/identity-confirmation`.
pub(crate) async fn identity_en() -> Html<String> {
    page(
        "en",
        "Identity confirmation guide",
        &[
            "In the app, open the mailbox and click <b>Confirm identity</b> (also from the banner or the bell).",
            "Say whether you are the legal representative or the holder. If not, enter the holder's e-mail: they receive a link to do it themselves.",
            "Choose the holder type (company, professional/sole trader/craftsman, private citizen) and enter the data and contacts.",
            "Check the summary: <b>Save and proceed</b>, or <b>Back</b> to correct it.",
            "Choose the method: SPID, CNS or health card, digital signature, remote signature, webcam (CIE is coming soon).",
            "After the identification click <b>PROCEED</b>, accept the terms and click <b>Complete the identification request</b>.",
            "Enter the OTP code sent to your contact e-mail within 60 seconds (or <b>Send again</b>) and click <b>Confirm</b>.",
            "The European star appears next to the mailbox. Then turn on two-step login.",
        ],
        "The identification success message reaches both the PEC mailbox and your ordinary e-mail.",
    )
}
