//! The two dialects of the API (issue 18): Unity's host takes access and secret keys as Basic
//! auth and an ASID on every call; the operator's takes a token as Bearer auth and no ASID on
//! its v1 calls. The credential picks the dialect. Black-box, against the simulator.

mod common;

use clanforge_sim::{Script, Sim, SimServer};
use common::*;

/// A simulator that speaks the operator's dialect: it takes [`TOKEN`] and no ASID.
fn token_host() -> SimServer {
    Sim::new()
        .token(TOKEN)
        .job(UPDATE_ID, Script::Replies(vec![status(4, 50), status(5, 100)]))
        .spawn()
        .unwrap()
}

#[test]
fn a_token_is_sent_as_bearer_and_needs_no_asid() {
    let server = token_host();
    let run = with_token(Gate::against(&server).without("--asid")).github().run();
    run.assert_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
        assert!(!request.query.contains("accountserviceid"), "{}", request.query);
    }
    // Masked before anything else, and in no output but the mask.
    assert_eq!(
        run.stderr.lines().next(),
        Some(format!("::add-mask::{TOKEN}").as_str()),
        "{}",
        run.stderr
    );
    assert_never_shown("the outputs", &run.all_output(), &[TOKEN], GITHUB_MASK);
}

#[test]
fn a_token_from_a_file_loses_its_trailing_newline() {
    let server = token_host();
    let gate = with_token(Gate::against(&server).without("--asid")).without_env("CLANFORGE_TOKEN");
    let file = gate.path("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    gate.arg("--token-file", &file).run().assert_code(0);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn a_refused_token_exits_4_at_once_and_names_the_other_dialect() {
    // A host that takes keys: it refuses the token and asks for Basic.
    let server = serve(vec![status(5, 100)]);
    let run = with_token(Gate::against(&server)).run();
    run.assert_code(4);
    assert_eq!(server.requests().len(), 1);
    run.assert_logged("it asks for Basic auth")
        .assert_logged("check --token (CLANFORGE_TOKEN); if this is Unity's host")
        .assert_logged("set CLANFORGE_ACCESS_KEY and CLANFORGE_SECRET_KEY");
    assert!(run.elapsed < std::time::Duration::from_secs(5));
}

#[test]
fn keys_at_a_token_host_exit_4_with_the_hint() {
    let server = token_host();
    let run = Gate::against(&server).run();
    run.assert_code(4);
    assert_eq!(server.requests().len(), 1);
    run.assert_logged("it asks for Bearer auth")
        .assert_logged("it takes a token: set CLANFORGE_TOKEN");
}

#[test]
fn a_token_and_keys_together_are_a_usage_error() {
    let server = token_host();
    let run = Gate::against(&server).env("CLANFORGE_TOKEN", TOKEN).run();
    run.assert_code(2);
    run.assert_logged("both a token (--token, CLANFORGE_TOKEN) and access keys");
    assert!(server.requests().is_empty());
    assert!(!run.all_output().contains(TOKEN));
}

#[test]
fn no_credentials_at_all_names_both_ways() {
    let run = Gate::new("http://127.0.0.1:9")
        .without_env("CLANFORGE_ACCESS_KEY")
        .without_env("CLANFORGE_SECRET_KEY")
        .run();
    run.assert_code(2);
    run.assert_logged("set CLANFORGE_TOKEN")
        .assert_logged("CLANFORGE_ACCESS_KEY and CLANFORGE_SECRET_KEY");
}

#[test]
fn a_rollout_without_an_asid_under_a_token_is_a_usage_error_naming_it() {
    let server = token_host();
    let run = with_token(Gate::against(&server).without("--asid"))
        .without("--update-id")
        .flag("rollout/1234")
        .run();
    run.assert_code(2);
    run.assert_logged("rollout/1234 needs --asid (CLANFORGE_ASID)");
    assert!(server.requests().is_empty());
}

#[test]
fn with_a_token_an_asid_given_is_still_sent() {
    let server = token_host();
    with_token(Gate::against(&server)).run().assert_code(0);
    assert!(server.requests()[0].query.contains("accountserviceid=7"));
}

/// The update URL's `url` parameter as the server decodes it, once.
fn url_param(server: &SimServer) -> String {
    let create = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/cfp/v1/imageupdate/create")
        .expect("the create went out");
    reqwest::Url::parse(&format!("http://sim/?{}", create.query))
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "url")
        .map(|(_, value)| value.into_owned())
        .expect("a url parameter")
}

/// The update URL on the wire (`api/change.rs`): for `s3://`, `gs://`, `steam://` and `cos://`,
/// a user and password given raw are percent-encoded once, so that with the query's own
/// encoding they arrive double-encoded, as the operator's docs ask; one encoded already is
/// sent as given, never twice; anything else goes as it is.
#[test]
fn update_url_credentials_arrive_double_encoded_raw_or_pre_encoded() {
    let s3 = "s3://AKIAWIRE:ab%2Fcd%2Bef%3D@wire-bucket/builds/7/?region=eu-west-1";
    for (given, sent) in [
        // An AWS secret key holds `/`, `+` and `=`: given raw, or percent-encoded by the user.
        ("s3://AKIAWIRE:ab/cd+ef=@wire-bucket/builds/7/?region=eu-west-1", s3),
        (s3, s3),
        // The user-info ends at the last `@`.
        ("steam://builder:p@ss w0rd@install/740/", "steam://builder:p%40ss%20w0rd@install/740/"),
        ("cos://k:s/e@bucket/x", "cos://k:s%2Fe@bucket/x"),
        ("gs://bucket/builds/", "gs://bucket/builds/"),
        ("https://u:p/w@host/x", "https://u:p/w@host/x"),
    ] {
        let server = Sim::new()
            .credentials(ACCESS_KEY, SECRET_KEY)
            .image(clanforge_sim::Image::quick(42, 1234))
            .spawn()
            .unwrap();
        Gate::against(&server)
            .without("--update-id")
            .env("CLANFORGE_UPDATE_URL", given)
            .flag("start")
            .flag("update")
            .arg("--game-id", "42")
            .arg("--image-id", "1234")
            .arg("--machine-id", "5678")
            .run()
            .assert_code(0);
        // Decoded once (the query), the user-info is still encoded; the server decodes it
        // again to the raw key: never encoded twice, never sent raw.
        assert_eq!(url_param(&server), sent, "{given}");
    }
}

#[test]
fn the_demo_speaks_the_operators_dialect_with_demo_token() {
    let run = Gate::demo().flag("--demo-token").flag("deploy").flag("--dry-run").run();
    run.assert_code(0)
        .assert_logged("the operator's dialect: a token, no ASID")
        .assert_logged("GET /cfp/v1/imageupdate/{updateid}/status  (read,");
    assert!(!run.stderr.contains("accountserviceid"), "{}", run.stderr);
    // Without it, Unity's: an ASID on every call.
    Gate::demo()
        .flag("deploy")
        .flag("--dry-run")
        .run()
        .assert_code(0)
        .assert_logged("Unity's dialect: keys and an ASID")
        .assert_logged("/status?accountserviceid=demo");
    // Alone, it is a mistake named as one.
    Gate::demo()
        .without("--demo")
        .flag("--demo-token")
        .run()
        .assert_code(2)
        .assert_logged("--demo-token (CLANFORGE_DEMO_TOKEN) only says which dialect");
}
