//! What the command line takes and refuses (`cli/config.rs`), as a pipeline meets it: a
//! refusal is exit 2 before any request, in one line that names the flag (and variable) to fix.

mod common;

use common::*;

/// A gate aimed at a port nothing answers: a command line refused sends nothing anywhere.
fn offline() -> Gate {
    Gate::new("http://127.0.0.1:9")
}

#[track_caller]
fn refused(gate: Gate, says: &str) {
    gate.run().assert_code(2).assert_logged(says);
}

#[test]
fn each_flag_that_cant_be_taken_is_refused_naming_what_to_fix() {
    for (flag, value, says) in [
        (
            "--base-url",
            "https://me:pw@api.example.com",
            "--base-url (CLANFORGE_BASE_URL) must not hold credentials: pass them with \
             --access-key and --secret-key",
        ),
        (
            "--interval",
            "1m",
            "--interval (1m) is longer than --max-interval (40ms): lower it or raise the cap",
        ),
    ] {
        refused(offline().arg(flag, value), says);
    }
    refused(
        offline().without("--max-interval").arg("--fixed-interval", "10s").arg("--interval", "2s"),
        "--fixed-interval and --interval can't both be given: keep one of them",
    );
    refused(
        offline().flag("updat/1"),
        "\"updat/1\" is not a job: unknown kind; write KIND/ID with KIND one of update, diff, \
         version, install, rollout",
    );
}

#[test]
fn durations_have_documented_limits() {
    let server = serve(vec![status(5, 100)]);
    for (flag, ok, too_long, limit) in [
        ("--timeout", "30days", "31days", "30days"),
        ("--interval", "1h", "61m", "1h"),
        ("--max-interval", "1h", "61m", "1h"),
        ("--request-timeout", "1h", "3601s", "1h"),
        ("--fixed-interval", "1h", "2h", "1h"),
    ] {
        let gate = || {
            let gate = Gate::against(&server);
            match flag {
                "--fixed-interval" => gate.without("--interval").without("--max-interval"),
                "--interval" => gate.arg("--max-interval", "1h"),
                _ => gate,
            }
        };
        gate().arg(flag, ok).run().assert_code(0);
        refused(gate().arg(flag, too_long), &format!("{flag} is longer than its limit of {limit}"));
    }
}

#[test]
fn jobs_come_from_arguments_and_flags_in_order_without_repeats() {
    let run = offline()
        .without("--update-id")
        .arg("--update-id", "42")
        // Raw arguments: `arg` would replace the first --job with the second.
        .flag("diff/7")
        .flag("--job")
        .flag("version/8 install/8")
        .flag("--job")
        .flag("update/42")
        .flag("install")
        .arg("--timeout", "200ms")
        .run();
    run.assert_logged("on 5 jobs: update/42, diff/7, install, version/8, install/8");
    assert!(![0, 2].contains(&run.code), "it ran: {}", run.stderr);
}

#[test]
fn the_demo_waits_on_its_own_jobs_and_refuses_every_sign_of_a_real_one() {
    let run = Gate::demo().arg("--timeout", "200ms").run();
    run.assert_code(3).assert_logged("on 3 jobs: update/1234567, version/99120, install/99120");
    for (flag, value) in [
        ("--update-id", "4711"),
        ("--asid", "7"),
        ("--base-url", "https://api.multiplay.co.uk"),
        ("--access-key", "a"),
        ("--secret-key", "s"),
        ("--secret-key-file", "/dev/null"),
    ] {
        refused(
            Gate::demo().arg(flag, value),
            &format!(
                "--demo (CLANFORGE_DEMO) runs against a simulated API and can't be combined with {flag}"
            ),
        );
    }
}

#[test]
fn a_refused_command_line_still_writes_its_outputs_and_masks_its_keys() {
    let gate = offline()
        .dotenv()
        .flag("--json")
        .arg("--secret-key", "s3cret-given-inline")
        .arg("--timeout", "soon");
    let (result, dotenv) = (gate.path("result.json"), gate.path("ci.env"));
    let run = gate.run();
    run.assert_code(2);
    let error = run.error();
    assert!(error.contains("--timeout") && !error.contains('\n'), "{error}");
    assert_eq!(run.result()["result"], "error");
    assert!(std::fs::read_to_string(&dotenv).unwrap().contains("CLANFORGE_RESULT=error\n"));
    assert!(run.stdout.contains("\"result\":\"error\""), "{}", run.stdout);
    let written = [run.all_output(), std::fs::read_to_string(&result).unwrap()].concat();
    assert!(!written.contains("s3cret-given-inline"), "{written}");
}

/// A plain http:// base URL reaches only this machine unless --allow-insecure-http says so:
/// the keys would cross the network unencrypted. Accepted ones run (and time out here: nothing
/// answers, and 192.0.2.1 is a documentation address no network routes).
#[test]
fn plain_http_reaches_only_this_machine_unless_allowed() {
    let ran = |gate: Gate, url: &str| {
        let run = gate.arg("--base-url", url).arg("--timeout", "100ms").run();
        assert_ne!(run.code, 2, "{url}: {}", run.stderr);
    };
    for url in ["http://127.0.0.1:9", "http://127.9.9.9:9", "http://localhost:9", "http://[::1]:9"]
    {
        ran(offline(), url);
    }
    ran(offline(), "https://192.0.2.1:9");
    for host in ["api.multiplay.co.uk", "192.0.2.1"] {
        refused(
            offline().arg("--base-url", &format!("http://{host}")),
            &format!("--base-url (CLANFORGE_BASE_URL) is plain http:// to {host}: the keys would"),
        );
    }
    ran(offline().flag("--allow-insecure-http"), "http://192.0.2.1:9");
}
