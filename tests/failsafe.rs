//! Fail safe (issue 25): no green from an ambiguous answer, and no secret in any output, even
//! one the server echoes back. Each test runs the real binary against the simulator, with
//! every output and every CI's reporter on where a secret could leak.

mod common;

use clanforge_sim::{Image, Reply, Script, Sim};
use clanforge_wait::testing::{Answer, JobRef, Phase};
use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A gate on `job` alone (`update/424242` by default), its replies in order (the last repeats).
fn wait_on(job: &str, replies: Vec<Reply>) -> Run {
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .serve_job(job.parse().unwrap(), Script::Replies(replies))
        .spawn()
        .unwrap();
    Gate::against(&server).without("--update-id").flag(job).every_output().run()
}

/// The answer as the result file gives it: its exit code, `result` and `error`.
fn verdict(run: &Run) -> (i32, String, String) {
    let result = run.result();
    let word = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
    (run.code, word("result"), word("error"))
}

#[test]
fn a_failure_flag_in_any_clear_form_fails_the_job() {
    for failed in [json!("true"), json!("yes"), json!(0.5), json!(-1), json!("1"), json!(true)] {
        let run = wait_on(
            "update/424242",
            vec![Reply::json(
                json!({"jobstateid": 5, "jobstatename": "Completed", "jobfailed": failed}),
            )],
        );
        assert_eq!(verdict(&run).0, 1, "jobfailed {failed}: {}", run.stderr);
        assert_eq!(verdict(&run).1, "failed");
    }
}

#[test]
fn an_ambiguous_answer_is_retried_then_exit_4_naming_the_field_and_its_value() {
    let server = serve(vec![Reply::json(
        json!({"jobstateid": 5, "jobstatename": "Completed", "jobfailed": "maybe"}),
    )]);
    let run = Gate::against(&server).every_output().run();
    let (code, word, error) = verdict(&run);
    assert_eq!((code, word.as_str()), (4, "error"), "{}", run.stderr);
    assert!(error.contains(r#"jobfailed is "maybe""#), "{error}");
    // Retried as a bad answer, three in a row, then the gate says it is unsure.
    assert_eq!(server.requests().len(), 3);
    run.assert_logged("not read as a success");
}

#[test]
fn contradictions_and_duplicate_keys_are_never_success() {
    for body in [
        r#"{"jobstateid": 5, "jobstatename": "Failed"}"#,
        r#"{"jobstateid": 99, "jobstatename": "Completed"}"#,
        r#"{"jobstateid": 5, "jobfailed": 1, "jobfailed": 0}"#,
        r#"{"jobstateid": 6, "jobstateid": 5}"#,
        r#"{"jobstateid": 5, "jobfailed": 0, "joberror": "disk full"}"#,
        r#"{"jobstateid": 5, "success": "perhaps"}"#,
    ] {
        let run = wait_on("update/424242", vec![Reply::http(200, body)]);
        assert_eq!(verdict(&run).0, 4, "{body}: {}", run.stderr);
    }
}

#[test]
fn ids_compare_as_numbers_whatever_their_json_form() {
    let run = wait_on(
        "update/424242",
        vec![Reply::json(json!({"jobstateid": 5, "updateid": 424_242.0}))],
    );
    assert_eq!(verdict(&run).0, 0, "{}", run.stderr);
    let failed = json!({"installs": [
        {"jobid": 1, "jobstateid": 6, "jobfailed": 1, "target_imageversionid": 7.0},
    ]});
    let run = wait_on("install/7", vec![Reply::json(failed)]);
    assert_eq!(verdict(&run).0, 1, "{}", run.stderr);
}

#[test]
fn a_failed_install_with_no_target_version_is_exit_4() {
    for target in [None, Some(Value::Null), Some(json!("seven"))] {
        let mut entry = json!({"jobid": 1, "jobstateid": 6, "jobfailed": 1});
        if let Some(target) = &target {
            entry["target_imageversionid"] = target.clone();
        }
        let run = wait_on("install/7", vec![Reply::json(json!({ "installs": [entry] }))]);
        let (code, _, error) = verdict(&run);
        assert_eq!(code, 4, "{target:?}: {}", run.stderr);
        assert!(error.contains("target_imageversionid"), "{error}");
    }
}

#[test]
fn a_rollout_count_missing_or_not_a_number_is_exit_4() {
    for body in [
        json!({"pending_machines": 0, "completed_machines": 3}),
        json!({"pending_machines": 0, "failed_machines": "2 machines", "completed_machines": 3}),
        json!({"pending_machines": 0, "failed_machines": -1}),
    ] {
        let run = wait_on("rollout/1234", vec![Reply::json(body.clone())]);
        let (code, _, error) = verdict(&run);
        assert_eq!(code, 4, "{body}: {}", run.stderr);
        assert!(error.contains("failed_machines"), "{error}");
    }
}

/// A failure indicator in one of its forms, in an answer that otherwise reads as a success.
fn failure_indicator() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        prop::sample::select(vec![
            json!(1),
            json!(-3),
            json!(0.5),
            json!(2.0),
            json!("1"),
            json!(" 7 "),
            json!("0.25"),
            json!("true"),
            json!("TRUE"),
            json!("yes"),
            json!(true),
            json!("maybe"),
            json!(""),
            json!([0]),
            json!({"failed": 0}),
        ])
        .prop_map(|v| ("jobfailed", v)),
        prop::sample::select(vec![json!(6), json!("6"), json!(6.0), json!(" 7 "), json!(7)])
            .prop_map(|v| ("jobstateid", v)),
        prop::sample::select(vec![
            json!("Failed"),
            json!("FAILED"),
            json!(" squashed "),
            json!("Completed with errors"),
            json!(5),
        ])
        .prop_map(|v| ("jobstatename", v)),
        prop::sample::select(vec![json!("disk full"), json!(7), json!("0")])
            .prop_map(|v| ("joberror", v)),
        prop::sample::select(vec![json!(false), json!("false"), json!(0), json!("no")])
            .prop_map(|v| ("success", v)),
        prop::sample::select(vec![json!(true), json!("yes"), json!("1"), json!("maybe")])
            .prop_map(|v| ("error", v)),
    ]
}

/// A success in one of its forms.
fn success() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![json!(5), json!("5"), json!(5.0), Value::Null]),
        prop::sample::select(vec![json!("Completed"), json!("complete"), Value::Null]),
        prop::sample::select(vec![json!(0), json!("0"), json!(false), Value::Null]),
    )
        .prop_filter("a state", |(id, name, _)| !id.is_null() || !name.is_null())
        .prop_map(|(id, name, failed)| {
            json!({"jobstateid": id, "jobstatename": name, "jobfailed": failed, "updateid": 424242})
        })
}

/// `body` read as the gate reads a status answer: `true` if it would end the job as a success.
fn reads_as_success(job: &str, body: &[u8]) -> bool {
    let job: JobRef = job.parse().unwrap();
    match job.read(body) {
        Ok(Answer::Status(status)) => status.phase(0) == Phase::Succeeded,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// For any answer where some failure indicator is set, in any representation (given once,
    /// or twice with a clean value after it), the verdict is never success.
    #[test]
    fn no_answer_with_a_failure_indicator_reads_as_success(
        base in success(),
        (key, value) in failure_indicator(),
        twice in any::<bool>(),
    ) {
        let mut body = base.clone();
        body[key] = value.clone();
        let mut text = body.to_string();
        if twice {
            // The same key again, clean: a reader that keeps the last would see a success.
            let clean = base.get(key).cloned().filter(|v| !v.is_null()).unwrap_or(json!(0));
            text = format!("{},{:?}:{}}}", &text[..text.len() - 1], key, clean);
        }
        prop_assert!(!reads_as_success("update/424242", text.as_bytes()), "{}", text);
    }

    /// An install list with a failed entry that may be the version's (its target in any form,
    /// or none), or a rollout whose failed count is set or can't be read, is never success.
    #[test]
    fn no_fleet_answer_with_a_failure_reads_as_success(
        target in prop::sample::select(vec![json!(7), json!(7.0), json!("7"), json!(" 07 "), Value::Null, json!("x"), json!(null)]),
        (key, value) in failure_indicator(),
        failed_machines in prop::sample::select(vec![json!(1), json!("1"), json!(1.0), Value::Null, json!("2 machines"), json!(-1), json!([0])]),
    ) {
        let mut entry = json!({"jobid": 1, "jobstateid": 4, "target_imageversionid": target});
        entry[key] = value;
        let list = json!({"installs": [entry]}).to_string();
        // An entry only running (an unclear `joberror` on it) leaves the version unfinished.
        prop_assert!(!reads_as_success("install/7", list.as_bytes()), "{}", list);
        let mut rollout = json!({"pending_machines": 0, "completed_machines": 3});
        if !failed_machines.is_null() {
            rollout["failed_machines"] = failed_machines;
        }
        let rollout = rollout.to_string();
        prop_assert!(!reads_as_success("rollout/1234", rollout.as_bytes()), "{}", rollout);
    }
}

// ---- No secret leaves the process ----

/// The mask commands, the one place a secret may be named: GitHub's and Azure's.
fn assert_nowhere(run: &Run, secrets: &[&str]) {
    let all = run.all_output();
    for secret in secrets {
        for line in all.lines() {
            let masked = line.starts_with(GITHUB_MASK) || line.starts_with(AZURE_MASK);
            assert!(masked || !line.contains(secret), "{secret:?} reached an output: {line:?}");
        }
    }
}

/// Every output and every CI's reporter on, and the trace.
fn everywhere(gate: Gate) -> Gate {
    let (junit, summary, trace) =
        (gate.path("junit.xml"), gate.path("summary.md"), gate.path("trace.log"));
    gate.every_output()
        .arg("--junit", &junit)
        .arg("--summary", &summary)
        .flag(&format!("--trace-http={trace}"))
        .env("TEAMCITY_VERSION", "2025.11")
        .env("TF_BUILD", "True")
        .env("BUILDKITE", "true")
        .env("GITLAB_CI", "true")
}

#[test]
fn keys_the_server_echoes_reach_no_output() {
    let echo = format!("auth failed for {ACCESS_KEY}:{SECRET_KEY} (Basic {BASIC})");
    let server = serve(vec![
        Reply::error(503, 1, &echo),
        Reply::http(200, format!("<html>{echo}</html>")),
        Reply::json(
            json!({"jobstateid": 6, "jobfailed": 1, "joberror": echo, "jobstatename": echo}),
        ),
    ]);
    let run = everywhere(Gate::against(&server)).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_logged("auth failed for ***:*** (Basic ***)");
    assert_nowhere(&run, &[ACCESS_KEY, SECRET_KEY, BASIC, "PLUGH"]);
}

#[test]
fn a_token_the_server_echoes_reaches_no_output() {
    const TOKEN: &str = "tok-3chO/ed+by=the-server";
    let server = Sim::new()
        .token(TOKEN)
        .job(
            UPDATE_ID,
            Script::Replies(vec![Reply::error(200, 7, &format!("token {TOKEN} is expired"))]),
        )
        .spawn()
        .unwrap();
    let run = everywhere(Gate::against(&server))
        .without_env("CLANFORGE_ACCESS_KEY")
        .without_env("CLANFORGE_SECRET_KEY")
        .without("--asid")
        .env("CLANFORGE_TOKEN", TOKEN)
        .run();
    assert_eq!(run.code, 4, "{}", run.stderr);
    run.assert_logged("token *** is expired");
    assert_nowhere(&run, &[TOKEN, "3chO"]);
}

#[test]
fn storage_credentials_a_failed_fetch_quotes_reach_no_output() {
    let image = Image { source_fails: true, ..Image::quick(42, 1234) };
    let server = Sim::new().credentials(ACCESS_KEY, SECRET_KEY).image(image).spawn().unwrap();
    let run = everywhere(Gate::against(&server))
        .env("CLANFORGE_UPDATE_URL", "s3://AKIASTORAGEUSER:a/b+c=STORAGEPASS@bucket/build/")
        .without("--update-id")
        .flag("deploy")
        .arg("--game-id", "42")
        .arg("--image-id", "1234")
        .arg("--machine-id", "5678")
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.assert_logged("fetch failed for ***: 403 Forbidden");
    assert_nowhere(
        &run,
        &["AKIASTORAGEUSER", "STORAGEPASS", "a/b+c=", "a%2Fb", "a%252Fb", "b%2Bc"],
    );
}

#[test]
fn a_secret_across_the_traces_cut_is_redacted_whole() {
    // The body's 4 KiB cut falls inside the echoed key.
    let head = r#"{"jobstateid": 6, "jobfailed": 1, "joberror": ""#;
    let pad = "x".repeat(4096 - head.len() - SECRET_KEY.len() / 2);
    let body = format!(r#"{head}{pad}{SECRET_KEY} and more"}}"#);
    let server = serve(vec![Reply::http(200, body)]);
    let run = everywhere(Gate::against(&server)).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let half = &SECRET_KEY[..SECRET_KEY.len() / 2];
    assert!(!run.file("trace.log").contains(half), "{}", run.file("trace.log"));
    assert_nowhere(&run, &[SECRET_KEY, half]);
}

#[test]
fn help_shows_no_variable_that_can_hold_a_secret() {
    let output = Gate::new("http://127.0.0.1:9")
        .env("CLANFORGE_BASE_URL", "https://apiuser:BASEPASSWORD@api.example.com")
        .env("CLANFORGE_UPDATE_URL", "s3://K:URLPASSWORD@b/x/")
        .env("CLANFORGE_TOKEN", "TOKENVALUE")
        .flag("--help")
        .command()
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("CLANFORGE_BASE_URL"), "{help}");
    for secret in ["BASEPASSWORD", "apiuser", "URLPASSWORD", "TOKENVALUE", SECRET_KEY] {
        assert!(!help.contains(secret), "{secret} in --help");
    }
    for sub in ["deploy", "check", "start"] {
        let output = Gate::new("http://127.0.0.1:9")
            .env("CLANFORGE_BASE_URL", "https://apiuser:BASEPASSWORD@api.example.com")
            .env("CLANFORGE_UPDATE_URL", "s3://K:URLPASSWORD@b/x/")
            .flag(sub)
            .flag("--help")
            .command()
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(!help.contains("PASSWORD"), "{sub} --help shows a secret");
    }
}

/// A secret as a user might hold one: regex and shell metacharacters, non-ASCII, sometimes
/// 10 KB long; never short or plain enough to occur in an output by chance.
fn random_secret() -> impl Strategy<Value = String> {
    let piece = "[A-Za-z0-9.*+?()\\[\\]{}|^$\\\\'\"`;&<>!#%/=:@ éß漢字🙂-]{8,40}";
    (piece, any::<bool>()).prop_map(|(piece, long)| {
        let secret = format!("Q{piece}Z");
        if long { secret.repeat(10_000 / secret.len() + 1) } else { secret }
    })
}

/// Every form a server could echo `secret` in.
fn echoed(secret: &str, form: u8) -> String {
    let once: String = percent_encode(secret);
    match form % 4 {
        0 => secret.to_owned(),
        1 => once,
        2 => percent_encode(&once),
        _ => {
            let json = serde_json::to_string(secret).unwrap();
            json[1..json.len() - 1].to_owned()
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

proptest! {
    // Each case runs the binary once, every CI's reporter on.
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Random secrets echoed anywhere in server text (an error message, a job's error and
    /// state, an HTML page), in any form, reach no destination: the log, the result, dotenv,
    /// JUnit, the summaries, every CI's outputs, the trace.
    #[test]
    fn no_echoed_secret_reaches_any_destination(
        secret in random_secret(),
        forms in prop::collection::vec(any::<u8>(), 4),
    ) {
        let echo = |i: usize| format!("denied: {} (again)", echoed(&secret, forms[i]));
        let server = Sim::new()
            .credentials(ACCESS_KEY, &secret)
            .job(UPDATE_ID, Script::Replies(vec![
                Reply::error(503, 1, &echo(0)),
                Reply::http(200, format!("<html>{}</html>", echo(1))),
                Reply::json(json!({"jobstateid": 6, "jobfailed": 1, "joberror": echo(2), "jobstatename": echo(3)})),
            ]))
            .spawn()
            .unwrap();
        let run = everywhere(Gate::against(&server))
            .env("CLANFORGE_SECRET_KEY", &secret)
            .run();
        prop_assert_eq!(run.code, 1, "{}", run.stderr);
        let all = run.all_output();
        // The secret, or any 8-character run of it (a half left by a cut).
        let chars: Vec<char> = secret.chars().collect();
        for line in all.lines() {
            if line.starts_with(GITHUB_MASK) || line.starts_with(AZURE_MASK) {
                continue;
            }
            for i in (0..chars.len().saturating_sub(8)).step_by(4) {
                let run_of: String = chars[i..i + 8].iter().collect();
                if let Some(at) = line.find(&run_of) {
                    let shown: String = line[at..].chars().take(80).collect();
                    let start: String = line.chars().take(40).collect();
                    prop_assert!(false, "{:?} of the secret reached an output: {:?}…{:?}", run_of, start, shown);
                }
            }
        }
    }
}

#[test]
fn a_short_secret_is_redacted_from_what_is_shown_but_not_from_what_is_read() {
    // Keys this short are unwise, but they must not change a verdict: "e" is in "Completed",
    // "5" in the job's ID and in the lock's.
    let server = Sim::new()
        .credentials("5", "e")
        .job(
            UPDATE_ID,
            Script::Replies(vec![Reply::json(
                json!({"jobstateid": 5, "jobstatename": "Completed", "updateid": 424242.0}),
            )]),
        )
        .spawn()
        .unwrap();
    let run = Gate::against(&server)
        .env("CLANFORGE_ACCESS_KEY", "5")
        .env("CLANFORGE_SECRET_KEY", "e")
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let locked = Sim::new()
        .credentials("5", "e")
        .job(
            UPDATE_ID,
            Script::Replies(vec![Reply::error(200, 1, "image locked by diffid: 218595")]),
        )
        .spawn()
        .unwrap();
    let run = Gate::against(&locked)
        .env("CLANFORGE_ACCESS_KEY", "5")
        .env("CLANFORGE_SECRET_KEY", "e")
        .run();
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.result()["locked_by"], "diff/218595");
    // What is shown of the server's text is redacted all the same.
    let error = run.error();
    assert!(error.contains("diffid: 218***9***"), "{error}");
}
