//! Transport security, black-box: TLS with a certificate authority made in the test, plain
//! HTTP only to this machine, proxies from the environment, and the secret key from a file.

mod common;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

/// A certificate authority, and a TLS front on 127.0.0.1 for `backend` with a certificate it
/// signed for `localhost`. Returns the CA's PEM and the front's `https://localhost:<port>`.
fn tls_front(backend: String) -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert =
        CertificateParams::new(vec!["localhost".into()]).unwrap().signed_by(&key, &issuer).unwrap();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = backend.trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, backend) = (acceptor.clone(), backend.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(&backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    (ca_cert.pem(), format!("https://localhost:{port}"))
}

#[test]
fn tls_with_an_unknown_authority_is_refused_at_once() {
    let server = serve(vec![status(5, 100)]);
    let (_, url) = tls_front(server.url());
    let run = Gate::new(&url).run();
    run.assert_code(4);
    run.assert_logged("TLS certificate is not trusted");
    run.assert_logged("--ca-cert");
    assert!(server.requests().is_empty());
}

#[test]
fn tls_with_the_authority_given_by_ca_cert_is_accepted() {
    let server = serve(vec![status(5, 100)]);
    let (ca, url) = tls_front(server.url());
    let gate = Gate::new(&url);
    let ca_path = gate.path("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    gate.env("CLANFORGE_CA_CERT", &ca_path).run().assert_code(0);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_ca_cert_that_is_not_pem_is_a_usage_error() {
    let gate = Gate::new("https://localhost:9");
    let path = gate.path("ca.pem");
    std::fs::write(&path, "not a certificate").unwrap();
    let run = gate.arg("--ca-cert", &path).run();
    run.assert_code(2);
    run.assert_logged("--ca-cert");
}

#[test]
fn plain_http_to_another_host_is_refused_before_any_request() {
    let run = Gate::new("http://api.multiplay.co.uk").run();
    run.assert_code(2);
    run.assert_logged("--allow-insecure-http");
    assert_eq!(run.result()["polls"], 0);
}

#[test]
fn http_proxy_from_the_environment_is_used() {
    // The "proxy" is the simulator itself: it serves absolute-form requests like the origin.
    let server = serve(vec![status(5, 100)]);
    let run = Gate::new("http://api.clanforge.invalid")
        .flag("--allow-insecure-http")
        .env("HTTP_PROXY", &server.url())
        .run();
    run.assert_code(0);
    assert_eq!(server.requests().len(), 1);
}

/// A CONNECT proxy on 127.0.0.1 that tunnels to whatever it is asked for and counts tunnels.
fn connect_proxy() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&tunnels);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let Some(target) =
                    request.strip_prefix("CONNECT ").and_then(|r| r.split(' ').next())
                else {
                    return;
                };
                let target = target.replace("localhost", "127.0.0.1");
                let upstream = std::net::TcpStream::connect(target).unwrap();
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut client_w = client.try_clone().unwrap();
                client_w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
                let (mut up_r, mut up_w) = (upstream.try_clone().unwrap(), upstream);
                let mut client_r = client;
                std::thread::spawn(move || std::io::copy(&mut up_r, &mut client_w));
                let _ = std::io::copy(&mut client_r, &mut up_w);
            });
        }
    });
    (url, tunnels)
}

#[test]
fn https_proxy_from_the_environment_tunnels_tls() {
    let server = serve(vec![status(5, 100)]);
    let (ca, url) = tls_front(server.url());
    let (proxy, tunnels) = connect_proxy();
    let gate = Gate::new(&url);
    let ca_path = gate.path("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    gate.arg("--ca-cert", &ca_path).env("HTTPS_PROXY", &proxy).run().assert_code(0);
    assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::new("http://api.clanforge.invalid")
        .flag("--allow-insecure-http")
        .arg("--timeout", "500ms")
        .env("HTTP_PROXY", &server.url())
        .env("NO_PROXY", "api.clanforge.invalid")
        .run();
    run.assert_code(3);
    assert!(server.requests().is_empty());
}

#[test]
fn the_secret_key_can_come_from_a_file_with_a_trailing_newline() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server).without_env("CLANFORGE_SECRET_KEY");
    let path = gate.path("secret");
    std::fs::write(&path, format!("{SECRET_KEY}\n")).unwrap();
    gate.env("CLANFORGE_SECRET_KEY_FILE", &path).run().assert_code(0);
    assert_eq!(server.requests().len(), 1, "the simulator checked the key");
}

#[test]
fn an_unreadable_secret_key_file_is_a_usage_error() {
    let run = Gate::new("http://127.0.0.1:9")
        .without_env("CLANFORGE_SECRET_KEY")
        .arg("--secret-key-file", "/nonexistent/secret")
        .run();
    run.assert_code(2);
    run.assert_logged("--secret-key-file");
    run.assert_logged("/nonexistent/secret");
}

#[test]
fn the_secret_key_and_its_file_are_exclusive() {
    let run = Gate::new("http://127.0.0.1:9")
        .arg("--secret-key-file", "/dev/null")
        .env("CLANFORGE_SECRET_KEY", "") // the file is the only source of the key here
        .arg("--secret-key", "x")
        .run();
    run.assert_code(2);
    run.assert_logged("--secret-key-file and --secret-key can't both be given");
}

// ---- a wrong scheme is a configuration error, told at once (issue 18, part 3) --------------

/// A gate on `url` ends with exit 4 on its first attempt, saying "wrong scheme?".
#[track_caller]
fn assert_wrong_scheme_at_once(url: &str) {
    let run = Gate::new(url).arg("--timeout", "6s").run();
    run.assert_code(4);
    run.assert_logged("wrong scheme?");
    assert!(run.elapsed < std::time::Duration::from_secs(5), "{:?}", run.elapsed);
    assert_eq!(run.result()["polls"], 1);
}

#[test]
fn https_to_a_plain_http_server_says_wrong_scheme_at_once() {
    let server = serve(vec![status(5, 100)]);
    assert_wrong_scheme_at_once(&server.url().replace("http://", "https://"));
}

#[test]
fn http_to_a_tls_port_says_wrong_scheme_at_once() {
    let server = serve(vec![status(5, 100)]);
    let (_, url) = tls_front(server.url());
    assert_wrong_scheme_at_once(&url.replace("https://localhost", "http://127.0.0.1"));
}

/// Issue 19, finding 5: an `https://` base URL is never downgraded by a redirect, even to
/// this machine.
#[test]
fn a_redirect_from_https_to_http_is_refused() {
    let elsewhere = serve(vec![status(5, 100)]);
    let server = serve(vec![clanforge_sim::Reply::http(302, "").with_header(
        "Location",
        &format!("{}/cfp/v1/imageupdate/{UPDATE_ID}/status", elsewhere.url()),
    )]);
    let (ca, url) = tls_front(server.url());
    let gate = Gate::new(&url);
    let ca_path = gate.path("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    gate.env("CLANFORGE_CA_CERT", &ca_path)
        .run()
        .assert_code(4)
        .assert_logged("a downgrade from https to http: not followed");
    assert_eq!(elsewhere.requests().len(), 0);
}
