//! The settings every outgoing HTTPS connection of the app shares: trust in
//! the operating system's certificate store, and the system's proxy.
//!
//! Offices put the provider behind an HTTP proxy, and often behind a firewall that inspects TLS
//! with a company CA installed in the OS store. A client that trusts only bundled roots and
//! reads only proxy variables cannot reach the provider there. What is read on each OS:
//!
//! | | trust | proxy |
//! |---|---|---|
//! | Linux | `SSL_CERT_FILE` / `SSL_CERT_DIR` if set, else the distribution's bundle (`/etc/ssl/certs`, …) | `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY` (upper or lower case) |
//! | Windows | the Windows certificate store (CryptoAPI, with revocation) | the variables, else the per-user Internet Options (registry, incl. the bypass list) |
//! | macOS | the Keychain and its trust settings (Security.framework) | the variables, else System Settings › Network › Proxies |
//!
//! Precedence of the variables (curl's): for an `https://` URL `HTTPS_PROXY`, then
//! `ALL_PROXY`; `NO_PROXY` (comma separated hosts, `.domain` suffixes, IPs, CIDR ranges, `*`)
//! sends the listed hosts direct. The GNOME proxy settings (`gsettings org.gnome.system.proxy`)
//! are not read: GNOME exports them to the session's environment only for apps it starts, so a
//! user on GNOME with a proxy sets the variables (README, "Proxy e certificati").
//!
//! The bundled Mozilla roots (`webpki-roots`) are used only if the OS store yields no
//! certificate at all (a minimal container without `ca-certificates`).

use std::sync::Arc;

/// A `reqwest` client builder for requests to `target`'s host, with the OS trust store and
/// the system proxy. Callers add their own timeouts, redirect policy and user agent.
///
/// The loopback target of the app's embedded sandbox (`127.0.0.1`, `::1`, `localhost`) never
/// goes through a proxy: `NO_PROXY` rarely lists it, and a proxy could not reach our loopback
/// anyway. Other addresses, `127.0.0.2` included, follow `NO_PROXY` like any host.
pub fn client_builder(target: &reqwest::Url) -> reqwest::ClientBuilder {
    // `reqwest` reads the proxy variables (and, with `system-proxy`, the Windows and macOS
    // settings) itself unless `no_proxy()` is called.
    let builder = reqwest::Client::builder().use_preconfigured_tls(tls_config());
    if is_loopback(target) {
        builder.no_proxy()
    } else {
        builder
    }
}

/// Whether `url` names this computer's usual loopback (`localhost`, `127.0.0.1`, `::1`).
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The rustls configuration: the platform verifier, or the bundled roots if it cannot start.
pub fn tls_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b,
        // Only if ring lacks every default version, which it does not: keep compiling paths
        // total rather than panicking.
        Err(e) => {
            tracing::error!(error = %e, "TLS protocol versions unavailable");
            return bundled_config(provider);
        }
    };
    match rustls_platform_verifier::Verifier::new(provider.clone()) {
        Ok(verifier) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
        Err(e) => {
            tracing::warn!(error = %e, "OS certificate store unavailable: bundled roots only");
            bundled_config(provider)
        }
    }
}

fn bundled_config(provider: Arc<rustls::crypto::CryptoProvider>) -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        Err(_) => rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    }
}

/// Whether a request failed because the server's certificate was not trusted (unknown issuer,
/// bad signature, wrong name, expired…): the sign of a TLS-inspecting firewall whose CA is not
/// in the OS store, or of a wrong clock. Walks the error's sources down to rustls' own error.
pub fn is_untrusted_certificate(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        // `io::Error::source` skips the wrapped error itself: look inside by hand.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && is_untrusted_certificate(inner)
        {
            return true;
        }
        current = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_certificate_error_under_io_and_other_layers() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connect failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let bad = Outer(std::io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        )));
        assert!(is_untrusted_certificate(&bad));
        let other = Outer(std::io::Error::other(rustls::Error::DecryptError));
        assert!(!is_untrusted_certificate(&other));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!is_untrusted_certificate(&plain));
    }

    #[test]
    fn loopback_targets_are_recognised() {
        for (url, loopback) in [
            ("http://127.0.0.1:8080/", true),
            ("http://127.3.0.1/", false),
            ("http://[::1]:80/", true),
            ("https://LOCALHOST/", true),
            ("https://localhost.example/", false),
            ("https://10.0.0.1/", false),
            ("https://pec.example/", false),
        ] {
            let url = reqwest::Url::parse(url).unwrap();
            assert_eq!(is_loopback(&url), loopback, "{url}");
            assert!(client_builder(&url).build().is_ok());
        }
    }
}
