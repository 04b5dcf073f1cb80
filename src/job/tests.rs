use super::*;

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
