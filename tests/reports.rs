//! The JUnit file and the Markdown summary, black-box: the binary against the simulator, each
//! file read by parsers nobody here wrote (`tests/oracles/`): junitparser and xmllint, Mermaid
//! itself.

mod common;

use common::ci::*;
use common::*;
use std::path::Path;
use std::process::Command;

/// Each scenario's gate with `--junit`: the scenario, the run, the file.
fn junit_runs() -> Vec<(&'static str, Run, String)> {
    let mut runs = Vec::new();
    for (scenario, code, gate, _server) in scenarios() {
        let path = gate.path("junit.xml");
        let run = gate.arg("--junit", &path).run();
        run.assert_code(code);
        runs.push((scenario, run, path));
    }
    runs
}

#[test]
fn the_junit_file_is_written_on_every_path_without_a_secret() {
    for (scenario, run, _) in junit_runs() {
        let xml = run.file("junit.xml");
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"),
            "{scenario}: {xml}"
        );
        assert_no_secret(&run);
    }
}

#[test]
#[ignore = "reads with the platforms' own parsers (tests/oracles/): cargo test -- --ignored, as .ci/run does"]
fn the_junit_file_has_a_case_per_job_read_as_intended_by_junitparser_and_xmllint() {
    for (scenario, run, path) in junit_runs() {
        let lint = Command::new("xmllint")
            .args(["--noout", &path])
            .output()
            .expect("xmllint runs (Debian's libxml2-utils)");
        assert!(lint.status.success(), "{scenario}: {}", String::from_utf8_lossy(&lint.stderr));
        let suites = oracle("read_junit.py", &[&path], "");
        let suites = suites.as_array().unwrap();
        assert_eq!(suites.len(), 1);
        let suite = &suites[0];
        assert_eq!(suite["name"], "clanforge-wait");
        let result = run.result();
        let jobs = result["jobs"].as_array().unwrap();
        let cases = suite["cases"].as_array().unwrap();
        assert_eq!(cases.len(), jobs.len(), "{scenario}");
        assert_eq!(suite["tests"], jobs.len());
        for (case, job) in cases.iter().zip(jobs) {
            assert_eq!(case["name"], job["job"]);
            assert_eq!(
                case["classname"],
                format!("clanforge-wait.{}", job["kind"].as_str().unwrap())
            );
            let kinds: Vec<&str> = case["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["kind"].as_str().unwrap())
                .collect();
            let expected: &[&str] = match job["result"].as_str().unwrap() {
                "success" => &[],
                "failed" | "stalled" | "unfinished" => &["Failure"],
                _ => &["Error"],
            };
            assert_eq!(kinds, expected, "{scenario}: {case}");
            let out = case["system_out"].as_str().unwrap();
            assert!(
                out.ends_with(&format!(
                    "{}: {}",
                    job["job"].as_str().unwrap(),
                    job["result"].as_str().unwrap()
                )),
                "{out}"
            );
            let time = case["time"].as_f64().unwrap();
            assert!((0.0..=10.0).contains(&time), "{time}");
        }
        if scenario == "failure" {
            let failure = &cases[0]["results"][0];
            assert_eq!(failure["type"], "failed");
            assert!(failure["message"].as_str().unwrap().contains("# #teamcity[buildStatus"));
            assert_eq!(suite["failures"], 1);
        }
        if scenario == "timeout" {
            assert_eq!(suite["errors"], 1);
        }
    }
}

#[test]
fn a_gate_that_could_not_start_is_one_junit_error_not_an_empty_pass() {
    let gate = Gate::new("http://127.0.0.1:9").arg("--interval", "soon");
    let path = gate.path("junit.xml");
    let run = gate.arg("--junit", &path).run();
    run.assert_code(2);
    let xml = run.file("junit.xml");
    assert!(xml.contains("tests=\"1\" failures=\"0\" errors=\"1\""), "{xml}");
    assert!(xml.contains("<testcase name=\"clanforge-wait\" classname=\"clanforge-wait.gate\""));
    assert!(xml.contains("<error message=\"clanforge-wait: error: "), "{xml}");
    assert!(xml.contains("--interval"), "the error says what to fix: {xml}");
}

// --- The summary and its chart ---

/// Each scenario's gate with `--summary`, under GitHub (whose step summary has it too).
fn summary_runs() -> Vec<(&'static str, Run)> {
    let mut runs = Vec::new();
    for (scenario, code, gate, _server) in scenarios() {
        let path = gate.path("summary.md");
        let run = gate.arg("--summary", &path).github().run();
        run.assert_code(code);
        runs.push((scenario, run));
    }
    runs
}

#[test]
fn the_summary_file_has_the_table_and_one_chart_also_in_the_step_summary() {
    for (_, run) in summary_runs() {
        let summary = run.file("summary.md");
        assert!(summary.contains("| job | result | state |"), "the table stays");
        assert_eq!(summary.matches("```mermaid\ngantt\n").count(), 1, "{summary}");
        // GitHub's step summary shows the same chart.
        assert!(run.file("step_summary").contains("```mermaid\ngantt\n"));
    }
}

#[test]
#[ignore = "reads with the platforms' own parsers (tests/oracles/): cargo test -- --ignored, as .ci/run does"]
fn the_summary_file_charts_each_job_as_mermaid_reads_it() {
    // Every scenario's summary, read by Mermaid in one go (it takes seconds to load).
    let runs = summary_runs();
    let mut all: String = runs.iter().map(|(_, run)| run.file("summary.md")).collect();
    // The book's example chart, last.
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/ci/any-ci.md"),
    );
    all.push_str(&readme.unwrap());
    let diagrams = oracle("read_mermaid.mjs", &[], &all);
    let diagrams = diagrams.as_array().unwrap();
    assert_eq!(diagrams.len(), runs.len() + 1, "{all}");
    let shown = &diagrams[runs.len()];
    assert_eq!(shown["type"], "gantt");
    assert_eq!(shown["tasks"].as_array().unwrap().len(), 4, "the book's chart: {shown}");
    for ((scenario, run), diagram) in runs.iter().zip(diagrams) {
        assert_eq!(diagram["type"], "gantt");
        let result = run.result();
        assert_eq!(
            diagram["title"],
            format!("clanforge-wait: {}", result["result"].as_str().unwrap())
        );
        let jobs = result["jobs"].as_array().unwrap();
        let tasks = diagram["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), jobs.len(), "{scenario}: {diagram}");
        for (task, job) in tasks.iter().zip(jobs) {
            let (kind, id, outcome) = (
                job["kind"].as_str().unwrap(),
                job["id"].as_str().unwrap(),
                job["result"].as_str().unwrap(),
            );
            assert_eq!(task["task"], format!("{kind} {id} ({outcome})"));
            assert_eq!(task["section"], kind);
            let (done, crit) = (task["done"] == true, task["crit"] == true);
            match outcome {
                "success" => assert!(done && !crit, "{task}"),
                _ => assert!(crit && !done, "{task}"),
            }
            let (start, end) = (task["start"].as_f64().unwrap(), task["end"].as_f64().unwrap());
            assert!(end > start && end - start <= 11_000.0, "{task}");
        }
        // A deploy's steps run one after another, and the chart shows them so (to the second).
        if *scenario == "deploy" {
            for pair in tasks.windows(2) {
                let (end, next) =
                    (pair[0]["end"].as_f64().unwrap(), pair[1]["start"].as_f64().unwrap());
                assert!(next >= end - 1000.0, "{pair:?}");
            }
        }
    }
}
