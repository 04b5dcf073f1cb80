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
