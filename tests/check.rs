//! `clanforge-wait check` (issue 18): read-only requests that say whether the set-up works,
//! under both dialects, and what to fix for the classic mistakes. Black-box, against the
//! simulator; each test reads the simulator's request log for what went out.

mod common;

use clanforge_sim::{Image, Reply, Script, Sim, SimServer};
use clanforge_sim::{JobKind, JobRef};
use common::*;
use std::time::{Duration, SystemTime};

/// An account with an empty install list and image 1234 of game 42.
fn account(sim: Sim) -> Sim {
    sim.image(Image::quick(42, 1234))
        .serve_job(JobRef::new(JobKind::Install, ""), Script::Replies(vec![Reply::installs(&[])]))
}

fn keys_host() -> SimServer {
    account(Sim::new().credentials(ACCESS_KEY, SECRET_KEY)).spawn().unwrap()
}

fn token_host() -> SimServer {
    account(Sim::new().token(TOKEN)).spawn().unwrap()
}

/// `check` with the keys (the common gate's), and no job.
fn check(url: &str) -> Gate {
    Gate::new(url).without("--update-id").every_output().flag("check")
}

/// The token and no ASID: `check` needs none with a token.
fn token_only(gate: Gate) -> Gate {
    with_token(gate.without("--asid"))
}

/// Every request was a read: the install list or image/options, never a create or reject.
#[track_caller]
fn only_reads(server: &SimServer) -> usize {
    let requests = server.requests();
    for request in &requests {
        assert!(
            request.path == "/cfp/v1/imageinstall/status"
                || request.path == "/cfp/v1/image/options",
            "check sent {} {}",
            request.method,
            request.path
        );
        assert_eq!(request.method, "GET");
    }
    requests.len()
}

#[test]
fn a_good_set_up_with_keys_passes_with_reads_only() {
    let server = keys_host();
    let run = check(&server.url()).arg("--image-id", "1234").arg("--game-id", "42").run();
    run.assert_code(0)
        .assert_logged("check credentials: ok, the keys accepted")
        .assert_logged("check ASID: ok, 7 accepted")
        .assert_logged("check clock: ok, the server's clock")
        .assert_logged("check latency: ")
        .assert_logged("check image: ok, image 1234 of game 42 found; nothing locks it")
        .assert_logged("check passed: ");
    assert_eq!(only_reads(&server), 3);
    // The same outputs as any run.
    let result = run.result();
    assert_eq!(result["result"], "success");
    assert_eq!(result["polls"], 3);
    assert!(run.file("step_summary").contains("| success |"));
    assert!(run.file("ci.env").starts_with("CLANFORGE_RESULT=success\n"));
    let printed: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(printed, result);
}

#[test]
fn a_good_set_up_with_a_token_sends_no_asid() {
    let server = token_host();
    let run = token_only(check(&server.url())).run();
    run.assert_code(0)
        .assert_logged("with a token (Bearer auth)")
        .assert_logged("check ASID: none given")
        .assert_logged("check credentials: ok, the token accepted");
    assert_eq!(only_reads(&server), 2);
    for request in server.requests() {
        assert!(!request.query.contains("accountserviceid"), "{}", request.query);
        assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    }
    assert_never_shown("the outputs", &run.all_output(), &[TOKEN], GITHUB_MASK);
}

#[test]
fn keys_at_a_host_that_takes_tokens_are_told_to_set_the_token() {
    let server = token_host();
    let run = check(&server.url()).run();
    run.assert_code(4).assert_logged(
        "check credentials: FAILED, the keys refused: the API refused the credentials or the \
         account service ID (HTTP 401: Unauthorized; it asks for Bearer auth): this host takes a \
         token: set CLANFORGE_TOKEN",
    );
    assert_eq!(only_reads(&server), 1);
    let result = run.result();
    assert_eq!(result["result"], "error");
    assert!(result["error"].as_str().unwrap().contains("set CLANFORGE_TOKEN"));
}

#[test]
fn a_token_at_a_host_that_takes_keys_is_told_to_set_the_keys() {
    let server = keys_host();
    let run = token_only(check(&server.url())).run();
    run.assert_code(4).assert_logged(
        "it asks for Basic auth): this host takes access and secret keys: set \
         CLANFORGE_ACCESS_KEY and CLANFORGE_SECRET_KEY (and unset CLANFORGE_TOKEN)",
    );
    assert_eq!(only_reads(&server), 1);
}

#[test]
fn a_base_url_with_the_api_path_is_told_to_drop_it() {
    let server = keys_host();
    let run = check(&format!("{}/cfp/v1", server.url())).run();
    run.assert_code(4)
        .assert_logged("check base path: warning, --base-url has a path of its own (/cfp/v1)")
        .assert_logged(
            "check API: FAILED, HTTP 404 on the install list: --base-url has a path of its own \
             (/cfp/v1), and the gate adds /cfp/v1/… itself",
        );
    // The doubled path is what went out.
    assert_eq!(server.requests()[0].path, "/cfp/v1/cfp/v1/imageinstall/status");
}

#[test]
fn a_server_that_is_not_the_api_is_named_so() {
    // Nothing served: every path is a 404.
    let server = Sim::new().spawn().unwrap();
    check(&server.url())
        .run()
        .assert_code(4)
        .assert_logged("HTTP 404 on the install list: is this the Clanforge API? check --base-url");
    // An HTML page with 200 (a captive portal, a web site).
    let server = Sim::new()
        .serve_job(
            JobRef::new(JobKind::Install, ""),
            Script::Replies(vec![Reply::http(200, "<!DOCTYPE html><title>Welcome</title>")]),
        )
        .spawn()
        .unwrap();
    check(&server.url())
        .run()
        .assert_code(4)
        .assert_logged("unreadable answer (HTTP 200): the body is not JSON")
        .assert_logged("is this the Clanforge API?");
}

#[test]
fn a_server_clock_far_off_is_a_warning_not_a_failure() {
    let ahead = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .serve_job(
            JobRef::new(JobKind::Install, ""),
            Script::Replies(vec![Reply::installs(&[]).with_header("Date", &ahead)]),
        )
        .spawn()
        .unwrap();
    let run = check(&server.url()).run();
    run.assert_code(0)
        .assert_logged("check clock: warning, the server's clock is 1")
        .assert_logged("s ahead of ours: job ETAs are the server's times")
        .assert_logged(", 1 warning, ");
}

#[test]
fn nothing_listening_fails_at_the_connection() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = check(&format!("http://127.0.0.1:{port}")).run();
    run.assert_code(4)
        .assert_logged(&format!("check connect: FAILED, could not connect to 127.0.0.1:{port}"));
    assert!(!run.stderr.contains("check request"), "{}", run.stderr);
}

#[test]
fn a_locked_image_and_a_missing_one() {
    let server = account(Sim::new().credentials(ACCESS_KEY, SECRET_KEY))
        .image(Image::quick(42, 1234).locked_by(218_595))
        .spawn()
        .unwrap();
    check(&server.url())
        .arg("--image-id", "1234")
        .arg("--game-id", "42")
        .run()
        .assert_code(0)
        .assert_logged("image 1234 of game 42 found; locked by image diff 218595");
    check(&server.url())
        .arg("--image-id", "999")
        .arg("--game-id", "42")
        .run()
        .assert_code(4)
        .assert_logged("check image: FAILED, image 999 of game 42");
    assert_eq!(only_reads(&server), 6);
}

#[test]
fn usage_errors_are_exit_2_before_any_request() {
    let server = keys_host();
    let no_credentials = check(&server.url())
        .without_env("CLANFORGE_ACCESS_KEY")
        .without_env("CLANFORGE_SECRET_KEY")
        .run();
    no_credentials.assert_code(2).assert_logged("no credentials: set CLANFORGE_TOKEN");
    assert_eq!(no_credentials.result()["result"], "error");
    check(&server.url())
        .arg("--image-id", "1234")
        .run()
        .assert_code(2)
        .assert_logged("--game-id (CLANFORGE_GAME_ID) is missing or empty");
    check(&server.url())
        .env("CLANFORGE_TOKEN", TOKEN)
        .run()
        .assert_code(2)
        .assert_logged("both a token");
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn the_demo_checks_in_both_dialects() {
    for dialect in [None, Some("--demo-token")] {
        let mut gate = Gate::demo().flag("check");
        if let Some(flag) = dialect {
            gate = gate.flag(flag);
        }
        let run = gate.run();
        run.assert_code(0).assert_logged("check passed: ");
        assert_eq!(run.result()["simulated"], true);
    }
}
