//! What faces a CI runner, exactly: the one door for server text (`untrusted.rs`: escapes,
//! every CI's command syntax broken, secrets redacted in every form) and the writers of
//! GitHub's workflow commands, `$GITHUB_OUTPUT`, the dotenv report, Azure's logging commands,
//! TeamCity's service messages, the JUnit XML and the summary's table and chart. The property tests
//! (`tests/properties.rs`) hold the same rules for any text.

use clanforge_wait::testing::{
    Level, MAX_BYTES, MAX_CELL, Secret, annotation, azure_command, chart_clock, chart_name, dotenv,
    escape_data, escape_property, escaped, escaped_start, excerpt, markdown_cell, one_line,
    output_file, random_token, redact_also, teamcity_escape, teamcity_message, xml_escape,
};
use std::time::{Duration, SystemTime};

#[test]
fn one_line_shows_controls_and_invisible_format_characters_as_escapes() {
    assert_eq!(
        one_line("ok\u{202e}exe.gnp\u{1b}[2J\u{200b}\u{85}\u{7f}\u{7}\u{0}\n done"),
        "ok\\u{202e}exe.gnp\\u{1b}[2J\\u{200b} \\u{7f}\\u{7}\\u{0} done"
    );
    // OSC 0 (a window title) and OSC 8 (a link): their ESC and BEL shown, inert.
    assert_eq!(
        excerpt(b"\x1b]0;pwned\x07 \x1b]8;;http://x\x1b\\link"),
        "\\u{1b}]0;pwned\\u{7} \\u{1b}]8;;http://x\\u{1b}\\link"
    );
}

#[test]
fn no_ci_command_marker_survives_and_the_text_stays_readable() {
    assert_eq!(
        one_line(
            "bad ##teamcity[buildStatus status='SUCCESS'] ##vso[task.complete result=Succeeded;]"
        ),
        "bad # #teamcity[buildStatus status='SUCCESS'] # #vso[task.complete result=Succeeded;]"
    );
    assert_eq!(one_line("###[error]x"), "# # #[error]x");
    assert_eq!(one_line("\n--- :boom: group"), "- -- :boom: group");
    assert_eq!(one_line("::error::x"), ": :error::x");
    assert_eq!(one_line("^^^ +++"), "^ ^^ +++");
    assert_eq!(one_line("a --- b ~~~ c"), "a --- b ~~~ c");
    assert_eq!(one_line("#\u{200b}#"), "#\\u{200b}#");
}

#[test]
fn server_text_is_one_clean_line() {
    assert_eq!(one_line("a\r\nb\u{1b}[31m c"), "a b\\u{1b}[31m c");
}

#[test]
fn excerpt_is_one_short_line() {
    let long = format!("<html>\n{}\n</html>", "x".repeat(500));
    let e = excerpt(long.as_bytes());
    assert!(!e.contains('\n'));
    assert!(e.chars().count() <= 121);
}

#[test]
fn a_secret_is_redacted_in_every_form_and_across_every_cut() {
    // Unique to this test: the registry is the process's.
    let secret = "Zq9/u+v=w é\"unit-test-only";
    redact_also([&Secret::new(secret)]);
    let encoded = "Zq9%2Fu%2Bv%3Dw%20%C3%A9%22unit-test-only";
    let twice = "Zq9%252Fu%252Bv%253Dw%2520%25C3%25A9%2522unit-test-only";
    let php = r#"Zq9\/u+v=w \u00e9\"unit-test-only"#;
    let twice_lower = "Zq9%252fu%252bv%253dw%2520%25c3%25a9%2522unit-test-only";
    for form in [secret, encoded, twice, twice_lower, php] {
        let text = format!("fetch failed for s3://user:{form}@bucket/x");
        assert_eq!(one_line(&text), "fetch failed for s3://user:***@bucket/x", "{form}");
        assert!(!escaped(&text).contains("unit-test-only"), "{form}");
    }
    // Across the excerpt's and the trace's cuts.
    let body = format!("{}{secret}", "x".repeat(470));
    assert!(!excerpt(body.as_bytes()).contains("Zq9"));
    let body = format!("{}{secret}{}", "x".repeat(4090), "y".repeat(100));
    let shown = escaped_start(body.as_bytes(), 4096);
    assert!(!shown.contains("Zq9") && shown.len() <= 4096, "{shown}");
    // One redacted early shortens the text: a later one the window cuts must not move
    // under the cut.
    let body = format!("{secret}{}{secret}{}", "x".repeat(4000), "y".repeat(9000));
    assert!(!escaped_start(body.as_bytes(), 4096).contains("Zq9"));
    assert!(!excerpt(format!("{secret}{}{secret}", "x".repeat(400)).as_bytes()).contains("Zq9"));
    // Folded whitespace can't form one either.
    redact_also([&Secret::new("two words unit-test-only")]);
    assert_eq!(one_line("two\nwords unit-test-only"), "***");
}

#[test]
fn data_escapes_percent_and_line_breaks() {
    assert_eq!(escape_data("50%\r\n::x"), "50%25%0D%0A::x");
}

#[test]
fn properties_also_escape_colon_and_comma() {
    assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
}

#[test]
fn an_annotation_is_one_line_whatever_its_text() {
    let line = annotation(Level::Error, "t::x,y", "line one\n::warning::two\r%0A");
    assert_eq!(line, "::error title=t%3A%3Ax%2Cy::line one%0A::warning::two%0D%250A");
}

#[test]
fn tokens_differ() {
    assert_ne!(random_token("t"), random_token("t"));
    assert_eq!(random_token("t").len(), 33);
}

#[test]
fn one_line_per_key_whatever_the_value() {
    let text = dotenv(&[
        ("result", "failed".into()),
        ("error", "line one\r\nCLANFORGE_RESULT=success\n  tail ".into()),
    ]);
    assert_eq!(
        text,
        "CLANFORGE_RESULT=failed\nCLANFORGE_ERROR=line one CLANFORGE_RESULT=success tail\n"
    );
}

#[test]
fn the_jobs_json_is_whole_or_empty_and_not_an_input_name() {
    let jobs = format!("[{}]", vec![r#"{"job":"update/1","result":"success"}"#; 200].join(","));
    let text = dotenv(&[("result", "failed".into()), ("jobs", jobs.clone())]);
    assert_eq!(text, "CLANFORGE_RESULT=failed\nCLANFORGE_JOB_RESULTS=\n");
    let small = r#"[{"job":"update/1"}]"#;
    let text = dotenv(&[("error", "é".repeat(10_000)), ("jobs", small.into())]);
    assert!(text.ends_with(&format!("\nCLANFORGE_JOB_RESULTS={small}\n")), "{text}");
    assert!(text.len() <= MAX_BYTES);
}

#[test]
fn stays_under_the_size_limit_cutting_only_the_long_value() {
    let text = dotenv(&[("result", "failed".into()), ("error", "é".repeat(10_000))]);
    assert!(text.len() <= MAX_BYTES, "{}", text.len());
    assert!(text.starts_with("CLANFORGE_RESULT=failed\n"));
    assert_eq!(text.lines().count(), 2);
}

#[test]
fn single_line_values_are_key_value_lines() {
    assert_eq!(
        output_file(&[("result", "success".into()), ("error", String::new())]),
        "result=success\nerror=\n"
    );
}

#[test]
fn values_with_line_breaks_use_a_fresh_delimiter() {
    let text = output_file(&[("error", "a\nghadelimiter_x\r\nb".into())]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let delimiter = lines[0].strip_prefix("error<<").unwrap();
    assert!(delimiter.starts_with("ghadelimiter_") && delimiter.len() > 20);
    assert_eq!(&lines[1..4], ["a", "ghadelimiter_x", "b"]);
    assert_eq!(lines[4], delimiter);
}

#[test]
fn a_secret_never_prints_its_value() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
}

#[test]
fn commands_escape_as_the_task_library_does() {
    assert_eq!(
        azure_command("task.setvariable", &[("variable", "A;B]")], "50%\r\n##vso[x]"),
        "##vso[task.setvariable variable=A%3BB%5D;]50%AZP25%0D%0A##vso[x]"
    );
}

#[test]
fn values_are_escaped_by_teamcitys_rules() {
    assert_eq!(
        teamcity_escape("a|b'c[d]e\nf\rg\u{85}h\u{2028}"),
        "a||b|'c|[d|]e|nf|rg|0x0085h|0x2028"
    );
    assert_eq!(
        teamcity_message("buildStatus", &[("text", "##teamcity[x]")]),
        "##teamcity[buildStatus text='##teamcity|[x|]']"
    );
}

#[test]
fn text_cannot_break_out_of_its_attribute_or_element() {
    assert_eq!(
        xml_escape("a\"b'<c>&\u{1b}\u{0}\n\u{ffff}"),
        "a&quot;b&apos;&lt;c&gt;&amp;\\u{1b}\\u{0}&#10;\\u{ffff}"
    );
}

#[test]
fn cells_cannot_break_the_table_or_inject_html() {
    assert_eq!(markdown_cell("a|b\n<img src=x>&`c`"), "a\\|b &lt;img src=x&gt;&amp;\\`c\\`");
    assert_eq!(markdown_cell(&"x".repeat(10_000)).len(), MAX_CELL);
}

#[test]
fn names_in_the_chart_cannot_form_its_syntax() {
    assert_eq!(chart_name("update:1;#x%%\n"), "update1x");
    assert_eq!(
        chart_clock(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_180_400)),
        "2026-12-02T03:00:00"
    );
}

/// The trace's form of server text: every control and invisible format character escaped, so
/// nothing in it moves a terminal's cursor or reorders a line; other text stays as it is.
#[test]
fn escapes_what_could_move_the_cursor_or_reorder_text() {
    assert_eq!(
        escaped("a\nb\r\t\u{1b}[2J\u{202e}gnp.exe\u{7f}\u{85}"),
        "a\\nb\\r\\t\\u{1b}[2J\\u{202e}gnp.exe\\u{7f}\\u{85}"
    );
    assert_eq!(escaped("{\"jobstateid\": 4, \"é\": 1}"), "{\"jobstateid\": 4, \"é\": 1}");
}
