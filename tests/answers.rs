//! Reading what the API answers (`job.rs`, and `kind.rs` for what differs by kind of job) and
//! the references that name jobs: the API's types drift from its docs, so a number may be a
//! string and any optional field null or absent; what might mean failure never reads as a
//! success. The property tests (`tests/properties.rs`, `tests/failsafe.rs`) feed it any bytes.

use clanforge_wait::testing::{
    Ambiguous, Answer, BodyError, Counts, JobKind, JobRef, JobState, JobStatus, PLAUSIBLE_ETA,
    Phase, one_line, parse_answer,
};

fn status(body: &str) -> JobStatus {
    match parse_answer(body.as_bytes(), "updateid") {
        Ok(Answer::Status(s)) => s,
        other => panic!("expected a status, got {other:?}"),
    }
}

fn ambiguous(body: &str) -> Ambiguous {
    match parse_answer(body.as_bytes(), "updateid") {
        Err(BodyError::Ambiguous(unclear)) => unclear,
        other => panic!("expected an ambiguous answer, got {other:?}"),
    }
}

#[test]
fn documented_example_parses() {
    let s = status(
        r#"{"jobprogress": 42, "jobstateid": 4, "jobstart": "1700000000", "joberror": null,
            "jobeta": 1700000600, "jobfailed": 0, "success": true, "jobcreated": 1699999990,
            "updateid": 12345, "jobupdated": 1700000300, "jobstatename": "Running"}"#,
    );
    assert_eq!(s.state, JobState::Running);
    assert_eq!(s.progress, Some(42));
    assert_eq!(s.eta, Some(1_700_000_600));
    assert_eq!(s.job_id.as_deref(), Some("12345"));
    assert!(!s.failed);
    assert_eq!(s.error, None);
    assert_eq!(s.phase(0), Phase::Waiting);
}

#[test]
fn numbers_may_be_strings() {
    let s = status(r#"{"jobstateid": "5", "jobprogress": " 100 ", "jobfailed": "0"}"#);
    assert_eq!(s.state, JobState::Complete);
    assert_eq!(s.progress, Some(100));
    assert_eq!(s.phase(0), Phase::Succeeded);
}

#[test]
fn optional_fields_may_be_null_or_absent() {
    let s = status(r#"{"jobstateid": 2, "jobeta": null, "jobstart": null}"#);
    assert_eq!(s.state, JobState::Pending);
    assert_eq!((s.eta, s.progress, s.error), (None, None, None));
}

#[test]
fn jobfailed_wins_over_the_state() {
    let s = status(r#"{"jobstateid": 4, "jobfailed": 1, "joberror": "disk full"}"#);
    assert_eq!(s.phase(0), Phase::Failed);
    assert_eq!(s.error.as_deref(), Some("disk full"));
}

#[test]
fn state_by_name_is_case_insensitive() {
    for (name, phase) in [
        ("Completed", Phase::Succeeded),
        ("complete", Phase::Succeeded),
        ("FAILED", Phase::Failed),
        ("Squashed", Phase::Failed),
        ("queued", Phase::Waiting),
    ] {
        let s = status(&format!(r#"{{"jobstatename": "{name}"}}"#));
        assert_eq!(s.phase(0), phase, "{name}");
    }
}

#[test]
fn an_unknown_id_falls_back_to_the_name_unless_it_says_complete() {
    assert_eq!(status(r#"{"jobstateid": 99, "jobstatename": "Running"}"#).state, JobState::Running);
    assert_eq!(status(r#"{"jobstateid": 99}"#).state, JobState::Unknown);
    // The unknown ID might be a failure: a name alone can't make it a success.
    let unclear = ambiguous(r#"{"jobstateid": 99, "jobstatename": "Completed"}"#);
    assert_eq!(unclear.field, "jobstateid and jobstatename");
}

#[test]
fn no_form_of_a_failure_reads_as_success() {
    for body in [
        r#"{"jobstateid": 5, "jobfailed": "true"}"#,
        r#"{"jobstateid": 5, "jobfailed": "yes"}"#,
        r#"{"jobstateid": 5, "jobfailed": 0.5}"#,
        r#"{"jobstateid": 5, "jobfailed": -1}"#,
    ] {
        assert_eq!(status(body).phase(0), Phase::Failed, "{body}");
    }
    for (body, field) in [
        (r#"{"jobstateid": 5, "jobfailed": "maybe"}"#, "jobfailed"),
        (r#"{"jobstateid": 5, "jobfailed": ""}"#, "jobfailed"),
        (r#"{"jobstateid": 5, "jobstatename": "Failed"}"#, "jobstateid and jobstatename"),
        (r#"{"jobstateid": 5, "jobfailed": 1, "jobfailed": 0}"#, "jobfailed"),
        (r#"{"jobstateid": 6, "jobstateid": 5}"#, "jobstateid"),
        (r#"{"jobstateid": 5, "joberror": "disk full"}"#, "joberror"),
        (r#"{"jobstateid": 5, "success": "perhaps"}"#, "success"),
        (r#"{"jobstateid": 5, "error": [true]}"#, "error"),
        (r#"{"jobstateid": "5.5"}"#, "jobstateid"),
    ] {
        assert_eq!(ambiguous(body).field, field, "{body}");
    }
    // A clear error wins over a flag that says neither.
    assert!(matches!(
        parse_answer(br#"{"success": false, "error": "maybe"}"#, "updateid"),
        Ok(Answer::Error { .. })
    ));
}

#[test]
fn terminal_states_are_five_to_seven() {
    let phases: Vec<Phase> = (1..=7).map(|id| JobState::from_id(id).phase()).collect();
    use Phase::*;
    assert_eq!(phases, [Waiting, Waiting, Waiting, Waiting, Succeeded, Failed, Failed]);
}

#[test]
fn error_bodies_are_errors() {
    let body = r#"{"success": false, "error": true, "error_code": 1,
                   "error_message": "image locked by diffid: 218595"}"#;
    assert_eq!(
        parse_answer(body.as_bytes(), "updateid"),
        Ok(Answer::Error {
            code: Some(1),
            message: "image locked by diffid: 218595".into(),
            said: "image locked by diffid: 218595".into(),
        })
    );
    assert!(matches!(
        parse_answer(br#"{"error": "true", "jobstateid": 4}"#, "updateid"),
        Ok(Answer::Error { code: None, .. })
    ));
}

#[test]
fn unreadable_bodies_are_told_apart() {
    assert!(matches!(
        parse_answer(b"<html><body>502 Bad Gateway</body></html>", "updateid"),
        Err(BodyError::NotJson { .. })
    ));
    assert!(matches!(
        parse_answer(br#"{"jobstateid": 4, "jobprog"#, "updateid"),
        Err(BodyError::NotJson { .. })
    ));
    assert!(matches!(parse_answer(br#"{"hello": 1}"#, "updateid"), Err(BodyError::NoState { .. })));
    assert!(matches!(parse_answer(b"[1, 2]", "updateid"), Err(BodyError::NoState { .. })));
}

#[test]
fn progress_is_clamped() {
    assert_eq!(status(r#"{"jobstateid": 4, "jobprogress": 250}"#).progress, Some(100));
    assert_eq!(status(r#"{"jobstateid": 4, "jobprogress": -3}"#).progress, Some(0));
    assert_eq!(status(r#"{"jobstateid": 4, "jobprogress": 12.7}"#).progress, Some(12));
}

#[test]
fn the_eta_counts_from_the_server_clock_when_it_sent_one() {
    let mut s = status(r#"{"jobstateid": 4, "jobeta": 1000}"#);
    assert_eq!(s.eta_offset(900), Some(100));
    s.server_time = Some(1_030);
    assert_eq!(s.eta_offset(900), Some(-30));
    assert_eq!(s.eta_remaining(900), Some(std::time::Duration::ZERO));
    s.server_time = Some(990);
    assert_eq!(s.eta_remaining(0), Some(std::time::Duration::from_secs(10)));
}

#[test]
fn an_implausible_eta_is_no_eta() {
    let day = PLAUSIBLE_ETA.as_secs() as i64;
    let mut s = status(&format!(r#"{{"jobstateid": 4, "jobeta": {}}}"#, i64::MAX));
    s.server_time = Some(1_000);
    assert_eq!((s.eta_offset(0), s.eta_remaining(0)), (None, None));
    s.eta = Some(1_000 + day);
    assert_eq!(s.eta_offset(0), Some(day));
    s.eta = Some(1_000 + day + 1);
    assert_eq!(s.eta_offset(0), None);
    s.eta = Some(999 - day);
    assert_eq!(s.eta_offset(0), None);
}

#[test]
fn server_text_is_one_clean_line() {
    assert_eq!(one_line("a\r\nb\u{1b}[31m c"), "a b\\u{1b}[31m c");
    let s = status(r#"{"jobstatename": "Running\n::error::x", "joberror": "a\r\nb"}"#);
    assert_eq!(s.state_name.as_deref(), Some("Running ::error::x"));
    assert_eq!(s.error.as_deref(), Some("a b"));
}

fn status_of(job: &str, body: &str) -> JobStatus {
    match job.parse::<JobRef>().unwrap().read(body.as_bytes()) {
        Ok(Answer::Status(s)) => s,
        other => panic!("expected a status, got {other:?}"),
    }
}

#[test]
fn references_read_as_kind_and_id() {
    assert_eq!("update/4711".parse(), Ok(JobRef::new(JobKind::ImageUpdate, "4711")));
    assert_eq!("diff/218595".parse::<JobRef>().unwrap().reference(), "diff/218595");
    assert_eq!("install".parse(), Ok(JobRef::new(JobKind::Install, "")));
    assert_eq!("rollout/0012".parse::<JobRef>().unwrap().id, "12");
}

#[test]
fn malformed_references_say_why_and_list_the_kinds() {
    for (bad, why) in [
        ("updat/1", "unknown kind"),
        ("update/", "no ID"),
        ("update", "no ID"),
        ("update/1/2", "too many parts"),
        ("update/0", "the ID is not a positive integer"),
        ("update/-3", "the ID is not a positive integer"),
        ("update/x", "the ID is not a positive integer"),
        ("install/", "no ID"),
    ] {
        let error = bad.parse::<JobRef>().unwrap_err();
        assert_eq!(error.why, why, "{bad}");
        let text = error.to_string();
        assert!(text.contains("update, diff, version, install, rollout"), "{text}");
    }
}

#[test]
fn every_kind_has_its_status_url() {
    let path = |r: &str| r.parse::<JobRef>().unwrap().path("77").join("/");
    assert_eq!(path("update/1"), "cfp/v1/imageupdate/1/status");
    assert_eq!(path("diff/2"), "cfp/v1/imagediff/2/status");
    assert_eq!(path("version/3"), "cfp/v1/imageversion/3/status");
    assert_eq!(path("install/4"), "cfp/v1/imageinstall/status");
    assert_eq!(path("install"), "cfp/v1/imageinstall/status");
    assert_eq!(path("rollout/5"), "cfp/v2/project/77/image/5/status");
}

#[test]
fn job_style_answers_echo_their_kind_of_id() {
    let s = status_of("diff/7", r#"{"jobstateid": 4, "diffid": "7", "updateid": 99}"#);
    assert_eq!(s.job_id.as_deref(), Some("7"));
    let s = status_of("version/8", r#"{"jobstateid": 5, "imageversionid": 8}"#);
    assert_eq!(s.job_id.as_deref(), Some("8"));
}

#[test]
fn installs_of_other_versions_do_not_count() {
    let body = r#"{"installs": [
        {"jobid": 1, "target_imageversionid": 99, "jobstateid": 4, "jobprogress": 20, "jobeta": 500},
        {"jobid": 2, "target_imageversionid": "99", "jobstateid": 3, "jobprogress": 0, "jobeta": 900},
        {"jobid": 3, "target_imageversionid": 42, "jobstateid": 6, "jobfailed": 1}
    ]}"#;
    let s = status_of("install/99", body);
    assert_eq!((s.state, s.progress, s.eta), (JobState::Queued, Some(10), Some(900)));
    assert_eq!(s.counts.map(|c| (c.pending, c.failed)), Some((2, 0)));
    assert_eq!(s.units, [1, 2]);
    let s = status_of("install", body);
    assert!(s.is_failure());
}

#[test]
fn a_failed_install_among_finished_ones_fails() {
    let body = r#"{"installs": [
        {"jobid": 5, "target_imageversionid": 99, "jobstateid": 7, "joberror": "disk full"}
    ]}"#;
    let s = status_of("install/99", body);
    assert!(s.is_failure());
    assert_eq!(s.error.as_deref(), Some("disk full"));
}

#[test]
fn no_install_left_is_complete_and_no_list_is_unusable() {
    assert_eq!(status_of("install/99", r#"{"installs": []}"#).state, JobState::Complete);
    let job: JobRef = "install/99".parse().unwrap();
    assert!(matches!(job.read(br#"{"jobs": []}"#), Err(BodyError::NoState { .. })));
    assert!(matches!(
        job.read(br#"{"success": false, "error_message": "nope"}"#),
        Ok(Answer::Error { .. })
    ));
}

#[test]
fn rollout_counts_become_a_status() {
    let s = status_of(
        "rollout/5",
        r#"{"pending_machines": "3", "failed_machines": 1, "completed_machines": 6}"#,
    );
    assert_eq!((s.state, s.progress), (JobState::Running, Some(60)));
    assert_eq!(s.counts, Some(Counts { pending: 3, failed: 1, completed: Some(6) }));
    let done = status_of(
        "rollout/5",
        r#"{"pending_machines": 0, "failed_machines": 0, "completed_machines": 9}"#,
    );
    assert_eq!(done.state, JobState::Complete);
    let job: JobRef = "rollout/5".parse().unwrap();
    for unclear in [
        r#"{"pending_machines": 0, "completed_machines": 9}"#,
        r#"{"pending_machines": 0, "failed_machines": "2 machines"}"#,
        r#"{"pending_machines": "none", "failed_machines": 0}"#,
        r#"{"pending_machines": 0, "failed_machines": 0, "failed_machines": 2}"#,
    ] {
        assert!(matches!(job.read(unclear.as_bytes()), Err(BodyError::Ambiguous(_))), "{unclear}");
    }
}

/// The evidence rule (`evidence.rs`) for the failure flag, as the reader applies it to
/// `jobfailed`: every form that clearly says "not failed" lets a complete job succeed, every
/// form that says "failed" fails it, and anything else is ambiguous, naming the field.
#[test]
fn the_failure_flag_is_set_not_set_or_ambiguous() {
    let with = |flag: &str| format!(r#"{{"jobstateid": 5, "jobfailed": {flag}}}"#);
    for not in ["0", r#""0""#, "false", r#""false""#, r#"" FALSE ""#, "0.0", "null"] {
        assert_eq!(status(&with(not)).phase(0), Phase::Succeeded, "{not}");
    }
    assert_eq!(status(r#"{"jobstateid": 5}"#).phase(0), Phase::Succeeded);
    for set in ["1", "-1", "0.5", "2", r#""true""#, r#""yes""#, r#""1""#, "true", r#""0.5""#] {
        assert_eq!(status(&with(set)).phase(0), Phase::Failed, "{set}");
    }
    for unclear in [r#""""#, r#""maybe""#, r#""no""#, "[1]", "{}", r#""NaN""#] {
        assert_eq!(ambiguous(&with(unclear)).field, "jobfailed", "{unclear}");
    }
}

/// The evidence rule for the state: an ID and a name that agree, or that a known ID settles,
/// read as that state; two that contradict, or a form that is neither, are ambiguous.
#[test]
fn a_state_id_and_name_that_contradict_are_ambiguous() {
    for (body, state) in [
        (r#"{"jobstateid": 5, "jobstatename": "Completed"}"#, JobState::Complete),
        (r#"{"jobstateid": 6, "jobstatename": "Borked"}"#, JobState::Failed),
        (r#"{"jobstateid": 99, "jobstatename": "Running"}"#, JobState::Running),
        (r#"{"jobstateid": 99, "jobstatename": "Failed"}"#, JobState::Failed),
        (r#"{"jobstateid": 6, "jobstatename": "Squashed"}"#, JobState::Failed),
        (r#"{"jobstateid": 4, "jobstatename": "Queued"}"#, JobState::Queued),
    ] {
        assert_eq!(status(body).state, state, "{body}");
    }
    for body in [
        r#"{"jobstateid": 5, "jobstatename": "Failed"}"#,
        r#"{"jobstateid": 4, "jobstatename": "Completed"}"#,
        r#"{"jobstateid": 5, "jobstatename": "Done?"}"#,
        r#"{"jobstateid": 99, "jobstatename": "Completed"}"#,
        r#"{"jobstateid": "5x"}"#,
        r#"{"jobstateid": 5.5}"#,
        r#"{"jobstatename": 5}"#,
    ] {
        assert!(
            matches!(parse_answer(body.as_bytes(), "updateid"), Err(BodyError::Ambiguous(_))),
            "{body}"
        );
    }
    assert!(matches!(parse_answer(b"{}", "updateid"), Err(BodyError::NoState { .. })));
}

/// The install list, read entry by entry (`fleet.rs`): the entries of the version asked about
/// count, the others and what is not an entry are skipped; an error body is an error.
#[test]
fn the_install_list_counts_the_entries_of_its_version_and_skips_the_rest() {
    let body = br#"{"success": true, "installs": [
            {"jobid": 1, "jobstateid": "4", "hostname": "m1", "ips": ["10.0.0.1"],
             "target_imageversionid": 7, "extra": {"deep": [1, 2, {"x": null}]}},
            {"jobid": 2, "jobstateid": 3, "target_imageversionid": 8},
            3, null, [1], "x"]}"#;
    let read = |job: &str, body: &[u8]| job.parse::<JobRef>().unwrap().read(body);
    let Ok(Answer::Status(s)) = read("install/7", body) else { panic!("a status") };
    assert_eq!(s.counts.map(|c| (c.pending, c.failed)), Some((1, 0)));
    assert_eq!((s.state, s.units), (JobState::Running, vec![1]));
    let Ok(Answer::Status(all)) = read("install", body) else { panic!("a status") };
    assert_eq!(all.counts.map(|c| c.pending), Some(2));
    let error = read("install", br#"{"success": false, "installs": null, "error": true}"#);
    assert!(matches!(error, Ok(Answer::Error { .. })), "{error:?}");
    assert!(read("install", b"[1]").is_err() && read("install", b"{} trailing").is_err());
}

/// An entry that may be of the version asked about and can't be read makes the whole list
/// ambiguous: it might be the failure.
#[test]
fn an_install_entry_that_may_be_ours_and_cant_be_read_makes_the_list_ambiguous() {
    let read = |body: &str| "install/7".parse::<JobRef>().unwrap().read(body.as_bytes());
    for entry in [
        r#"{"jobid": 1, "jobstateid": 6, "jobfailed": 1}"#,
        r#"{"jobid": 1, "jobstateid": 6, "target_imageversionid": null}"#,
        r#"{"jobid": 1, "jobstateid": 4, "target_imageversionid": "seven"}"#,
        r#"{"jobid": 1, "jobstateid": 4, "target_imageversionid": 7, "jobfailed": "maybe"}"#,
        r#"{"jobid": 1, "jobstateid": 6, "target_imageversionid": 7, "jobstateid": 4}"#,
    ] {
        let got = read(&format!(r#"{{"installs": [{entry}]}}"#));
        assert!(matches!(got, Err(BodyError::Ambiguous(_))), "{entry}: {got:?}");
    }
    let got =
        read(r#"{"installs": [{"jobid": "x", "jobstateid": 6, "target_imageversionid": 7.0}]}"#);
    let Ok(Answer::Status(s)) = got else { panic!("{got:?}") };
    assert_eq!(s.counts.map(|c| c.failed), Some(1));
    assert!(matches!(read(r#"{"installs": [], "installs": [1]}"#), Err(BodyError::Ambiguous(_))));
}
