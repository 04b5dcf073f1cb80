//! Issue 19: a client that trusts only what it should. Each test is one numbered finding of the
//! issue, black-box against the simulator.

mod common;

use common::*;

/// Finding 8: no value may change a URL's shape, and Basic auth can't carry a ':' in the user.
#[test]
fn ids_that_would_change_the_url_and_a_colon_in_the_access_key_are_refused() {
    let server = serve(vec![status(5, 100)]);
    for id in ["..", ".", "12/34", "0", "1 2", "x"] {
        let run = Gate::against(&server)
            .arg("--update-id", id)
            .every_output()
            .run();
        run.assert_code(2)
            .assert_logged("--update-id (CLANFORGE_UPDATE_ID) must be a positive integer");
        assert_eq!(run.result()["result"], "error", "{id}");
    }
    for asid in ["..", "7/8"] {
        Gate::against(&server)
            .arg("--asid", asid)
            .run()
            .assert_code(2)
            .assert_logged("--asid (CLANFORGE_ASID) must be a positive integer");
    }
    Gate::against(&server)
        .env("CLANFORGE_ACCESS_KEY", "AKIA:oops")
        .run()
        .assert_code(2)
        .assert_logged("--access-key (CLANFORGE_ACCESS_KEY) holds a ':'");
    assert_eq!(server.requests().len(), 0);
    // A leading zero or spaces are still the same number.
    Gate::against(&server)
        .arg("--update-id", " 0424242 ")
        .run()
        .assert_code(0);
}

/// Finding 5: a redirect is followed only within the base URL's origin, a few hops at most.
#[test]
fn redirects_stay_within_the_origin_and_a_loop_is_one_error() {
    use clanforge_wait::sim::Reply;
    // Elsewhere: another server that would say "Completed", never asked.
    let elsewhere = serve(vec![status(5, 100)]);
    let server = serve(vec![Reply::http(302, "").with_header(
        "Location",
        &format!("{}/cfp/v1/imageupdate/{UPDATE_ID}/status", elsewhere.url()),
    )]);
    let run = Gate::against(&server).every_output().run();
    run.assert_code(4)
        .assert_logged("another origin than --base-url's: not followed");
    assert_eq!(elsewhere.requests().len(), 0);
    assert_eq!(run.result()["result"], "error");

    // A loop: the first request and 3 hops, then one error, at once.
    let looping = serve(vec![Reply::http(302, "").with_header(
        "Location",
        &format!("/cfp/v1/imageupdate/{UPDATE_ID}/status?accountserviceid=7"),
    )]);
    let run = Gate::against(&looping).run();
    run.assert_code(4)
        .assert_logged("the API redirected more than 3 times");
    assert_eq!(looping.requests().len(), 4);

    // One hop within the origin (the same endpoint, moved) is followed, and logged.
    let moved = serve(vec![
        Reply::http(301, "").with_header(
            "Location",
            &format!("/cfp/v1/imageupdate/{UPDATE_ID}/status?accountserviceid=7&moved=1"),
        ),
        status(5, 100),
    ]);
    Gate::against(&moved)
        .run()
        .assert_code(0)
        .assert_logged("the API redirected (HTTP 301) to http://127.0.0.1:")
        .assert_logged("followed (same origin)");
}
