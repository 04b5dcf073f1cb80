//! TeamCity, Azure Pipelines and Buildkite, black-box: the binary against the simulator, its
//! output read by parsers nobody here wrote where a registry has one (`tests/oracles/`):
//! Microsoft's azure-pipelines-task-lib, JetBrains' teamcity-messages (its escaping, with
//! TeamCity's documented grammar). The JUnit file and the Markdown summary are
//! `tests/reports.rs`'s; what both share is `common/ci.rs`.

mod common;

use clanforge_sim::Reply;
use common::ci::*;
use common::*;
use serde_json::{Value, json};

// --- TeamCity ---

/// The service messages of a run, as TeamCity reads them; each must start its line.
fn teamcity_messages(run: &Run) -> Vec<Value> {
    let text = lines(run).join("\n");
    let messages = oracle("read_teamcity.py", &[], &text);
    let messages = messages.as_array().unwrap().clone();
    for m in &messages {
        assert!(m.get("invalid").is_none(), "TeamCity can't read {m}");
        assert_eq!(m["at"], 0, "a message inside a line: {m}");
        assert_eq!(m["rest"], "", "text after a message: {m}");
    }
    messages
}

fn names(messages: &[Value]) -> Vec<String> {
    let mut names: Vec<String> =
        messages.iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
    names.dedup();
    names
}

fn parameter<'a>(messages: &'a [Value], name: &str) -> Option<&'a str> {
    messages
        .iter()
        .filter(|m| m["name"] == "setParameter" && m["attrs"]["name"] == name)
        .map(|m| m["attrs"]["value"].as_str().unwrap())
        .next_back()
}

#[test]
#[ignore = "reads with the platforms' own parsers (tests/oracles/): cargo test -- --ignored, as .ci/run does"]
fn teamcity_gets_a_block_progress_problems_status_parameters_and_statistics() {
    for (scenario, code, gate, _server) in scenarios() {
        let run = gate.env("TEAMCITY_VERSION", "2025.11 (build 197398)").run();
        run.assert_code(code);
        assert_no_secret(&run);
        // The messages are on stdout, where TeamCity reads them.
        assert!(run.stdout.starts_with("##teamcity[blockOpened name='clanforge-wait"));
        let messages = teamcity_messages(&run);
        let expected: &[&str] = match code {
            0 => &[
                "blockOpened",
                "progressMessage",
                "blockClosed",
                "buildStatus",
                "setParameter",
                "buildStatisticValue",
            ],
            _ => &[
                "blockOpened",
                "progressMessage",
                "blockClosed",
                "buildProblem",
                "buildStatus",
                "setParameter",
                "buildStatisticValue",
            ],
        };
        assert_eq!(names(&messages), expected, "{scenario}: {messages:#?}");
        let result = run.result();
        assert_eq!(
            parameter(&messages, "env.CLANFORGE_RESULT"),
            result["result"].as_str(),
            "{scenario}"
        );
        assert_eq!(parameter(&messages, "env.CLANFORGE_UPDATE_ID"), result["update_id"].as_str());
        assert_teamcity_status_and_statistics(&messages, &result);
        if scenario == "deploy" {
            assert_eq!(parameter(&messages, "env.CLANFORGE_IMAGE_VERSION_ID"), Some("5003"));
        }
        if code != 0 {
            let problem = messages.iter().find(|m| m["name"] == "buildProblem").unwrap();
            assert_eq!(problem["attrs"]["identity"], "clanforge-wait-update-424242");
        }
    }
}

/// A parameter per result key, the status text appended to TeamCity's, no status decided by
/// a message, the statistics equal to the result's.
fn assert_teamcity_status_and_statistics(messages: &[Value], result: &Value) {
    let count = |name: &str| messages.iter().filter(|m| m["name"] == name).count();
    assert_eq!(count("setParameter"), 16, "a parameter per result key");
    let status = messages.iter().find(|m| m["name"] == "buildStatus").unwrap();
    assert!(
        status["attrs"]["text"]
            .as_str()
            .unwrap()
            .starts_with("{build.status.text}; clanforge-wait: "),
        "{status}"
    );
    assert!(
        messages.iter().all(|m| m["attrs"].get("status").is_none()),
        "the exit code decides the build, not a message"
    );
    let statistic = |key: &str| {
        messages
            .iter()
            .find(|m| m["name"] == "buildStatisticValue" && m["attrs"]["key"] == key)
            .map(|m| m["attrs"]["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(statistic("clanforge_wait.polls"), Some(result["polls"].to_string()));
    assert_eq!(
        statistic("clanforge_wait.elapsed_seconds"),
        Some(result["elapsed_seconds"].to_string())
    );
}

/// What needs no parser: the exit code, no secret, TeamCity's messages on stdout, Azure's
/// masks before any other line.
#[test]
fn teamcity_and_azure_keep_the_exit_code_show_no_secret_and_mask_first() {
    for (_, code, gate, _server) in scenarios() {
        let run = gate.env("TEAMCITY_VERSION", "2025.11").run();
        run.assert_code(code);
        assert_no_secret(&run);
        assert!(run.stdout.starts_with("##teamcity[blockOpened name='clanforge-wait"));
    }
    for (scenario, code, gate, _server) in scenarios() {
        let run = gate.env("TF_BUILD", "True").run();
        run.assert_code(code);
        assert_no_secret(&run);
        assert_eq!(azure_masks(&run).len(), 3, "{scenario}: the keys and the Basic value first");
    }
}

// --- Azure Pipelines ---

/// The mask commands before any other line of stderr.
fn azure_masks(run: &Run) -> Vec<&str> {
    run.stderr.lines().take_while(|l| l.starts_with("##vso[task.setsecret]")).collect()
}

/// The commands of a run as the agent reads them: `##vso[` anywhere, `##[` at a line's start.
fn azure_commands(run: &Run) -> Vec<Value> {
    let commands = oracle("read_azure.cjs", &[], &lines(run).join("\n"));
    let commands = commands.as_array().unwrap().clone();
    for c in &commands {
        assert!(c.get("invalid").is_none(), "the agent can't read {c}");
        assert_eq!(c["at"], 0, "a command inside a line: {c}");
    }
    commands
}

fn azure_names(commands: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = commands
        .iter()
        .map(|c| match c.get("format") {
            Some(format) => format.as_str().unwrap().split(']').next().unwrap().to_owned() + "]",
            None => c["command"].as_str().unwrap().to_owned(),
        })
        .collect();
    names.dedup();
    names
}

#[test]
#[ignore = "reads with the platforms' own parsers (tests/oracles/): cargo test -- --ignored, as .ci/run does"]
fn azure_gets_secrets_masked_first_a_group_progress_issues_and_output_variables() {
    for (scenario, code, gate, _server) in scenarios() {
        let run = gate.env("TF_BUILD", "True").run();
        run.assert_code(code);
        assert_no_secret(&run);
        // The secrets are registered before any other line.
        assert_eq!(
            azure_masks(&run),
            [
                format!("##vso[task.setsecret]{ACCESS_KEY}"),
                format!("##vso[task.setsecret]{SECRET_KEY}"),
                format!("##vso[task.setsecret]{BASIC}"),
            ],
            "{scenario}"
        );
        let commands = azure_commands(&run);
        let mut expected = vec!["task.setsecret", "##[group]", "task.setprogress", "##[endgroup]"];
        if code != 0 {
            expected.push("task.logissue");
        }
        expected.push("task.setvariable");
        assert_eq!(azure_names(&commands), expected, "{scenario}: {commands:#?}");
        let secrets: Vec<&Value> = commands
            .iter()
            .filter(|c| c["command"] == "task.setsecret")
            .map(|c| &c["message"])
            .collect();
        assert_eq!(secrets, [ACCESS_KEY, SECRET_KEY, BASIC], "every secret, once");
        assert_azure_variables(&commands, &run.result());
        assert!(
            commands.iter().all(|c| c["command"] != "task.complete"),
            "the exit code decides the step, not a command"
        );
        if code != 0 {
            let issue = commands.iter().find(|c| c["command"] == "task.logissue").unwrap();
            assert_eq!(issue["properties"]["type"], "error");
            assert!(
                issue["message"].as_str().unwrap().starts_with("clanforge-wait: update/424242")
            );
        }
    }
}

/// An output variable per result key, each equal to the result file's value.
fn assert_azure_variables(commands: &[Value], result: &Value) {
    let variables: Vec<&Value> =
        commands.iter().filter(|c| c["command"] == "task.setvariable").collect();
    assert_eq!(variables.len(), 16, "a variable per result key");
    for variable in &variables {
        assert_eq!(variable["properties"]["isoutput"], "true");
        let name = variable["properties"]["variable"].as_str().unwrap();
        let key = name.trim_start_matches("CLANFORGE_").to_lowercase();
        if name == "CLANFORGE_JOB_RESULTS" {
            let jobs: Value = serde_json::from_str(variable["message"].as_str().unwrap()).unwrap();
            assert_eq!(jobs, result["jobs"]);
            continue;
        }
        let expected = match &result[key.as_str()] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        assert_eq!(variable["message"], expected, "{name}");
    }
}

// --- Buildkite ---

/// A recording stand-in for `buildkite-agent`, first on PATH: each call's arguments (a line
/// each) and standard input go to `calls/N.args` and `calls/N.stdin`.
struct Agent {
    dir: tempfile::TempDir,
}

impl Agent {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("calls")).unwrap();
        let script = dir.path().join("buildkite-agent");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nn=$(ls '{calls}' | wc -l)\nn=$((n / 2))\n\
                 printf '%s\\n' \"$@\" > '{calls}/'$n.args\ncat > '{calls}/'$n.stdin\n",
                calls = dir.path().join("calls").display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.dir.path().display())
    }

    /// Every call: its arguments and its standard input.
    fn calls(&self) -> Vec<(Vec<String>, String)> {
        let calls = self.dir.path().join("calls");
        let mut out = Vec::new();
        for n in 0.. {
            let Ok(args) = std::fs::read_to_string(calls.join(format!("{n}.args"))) else {
                break;
            };
            let stdin = std::fs::read_to_string(calls.join(format!("{n}.stdin"))).unwrap();
            out.push((args.lines().map(str::to_owned).collect(), stdin));
        }
        out
    }
}

#[test]
fn buildkite_gets_a_group_an_annotation_per_gate_and_meta_data() {
    for (scenario, code, gate, _server) in scenarios() {
        let agent = Agent::new();
        let run = gate.env("BUILDKITE", "true").env("CI", "true").env("PATH", &agent.path()).run();
        run.assert_code(code);
        assert_no_secret(&run);
        let stderr: Vec<&str> = run.stderr.lines().collect();
        assert!(stderr[0].starts_with("--- clanforge-wait"), "{scenario}: {stderr:?}");
        let expand = stderr.iter().filter(|l| **l == "^^^ +++").count();
        assert_eq!(expand, usize::from(code != 0), "{scenario}: {stderr:?}");
        let calls = agent.calls();
        let result = run.result();
        let context = match scenario {
            "deploy" => "clanforge-wait-update-5001".to_owned(),
            _ => "clanforge-wait-update-424242".to_owned(),
        };
        let style = match scenario {
            "success" | "deploy" => "success",
            "timeout" => "warning",
            _ => "error",
        };
        let annotate = |style: &str| -> Vec<String> {
            ["annotate", "--style", style, "--context", &context].map(str::to_owned).to_vec()
        };
        let args: Vec<&Vec<String>> = calls.iter().map(|(args, _)| args).collect();
        let mut expected = vec![annotate("info"), annotate(style)];
        expected.push(
            ["meta-data", "set", "clanforge-result", result["result"].as_str().unwrap()]
                .map(str::to_owned)
                .to_vec(),
        );
        for (key, field) in [
            ("clanforge-update-id", "update_id"),
            ("clanforge-diff-id", "diff_id"),
            ("clanforge-image-version-id", "image_version_id"),
        ] {
            let value = result[field].as_str().unwrap();
            if !value.is_empty() {
                expected.push(["meta-data", "set", key, value].map(str::to_owned).to_vec());
            }
        }
        let expected: Vec<&Vec<String>> = expected.iter().collect();
        assert_eq!(args, expected, "{scenario}");
        // The annotation is the summary: the table and the chart.
        let body = &calls[1].1;
        assert!(
            body.starts_with(&format!(
                "### clanforge-wait: {}",
                result["result"].as_str().unwrap()
            ))
        );
        assert!(body.contains("```mermaid\ngantt\n"), "{body}");
        if scenario == "deploy" {
            assert!(calls.iter().any(|(a, _)| a[2..] == ["clanforge-image-version-id", "5003"]));
        }
    }
}

#[test]
fn buildkite_without_an_agent_warns_once_and_keeps_the_gates_exit_code() {
    let server = serve(vec![hostile_failure()]);
    let run = Gate::against(&server).env("BUILDKITE", "true").env("PATH", "/nonexistent").run();
    run.assert_code(1);
    let warnings: Vec<&str> =
        run.stderr.lines().filter(|l| l.contains("buildkite-agent")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(warnings[0].contains("WARN buildkite-agent annotate failed (not on PATH)"));
    assert_eq!(run.result()["result"], "failed");
}

// --- Every CI at once, and none: server text forges no command ---

#[test]
fn hostile_server_text_forms_no_command_for_any_ci_detected_or_not() {
    for (platform, format, run) in hostile_runs() {
        let what = format!("{platform}, --log-format {format}");
        // The text is there, readable, with its markers broken.
        assert!(run.stderr.contains("# #teamcity[buildStatus"), "{what}: {}", run.stderr);
        assert_only_our_commands(platform, &what, &run);
        for file in ["junit.xml", "summary.md", "ci.env"] {
            let text = run.file(file);
            assert!(!text.contains("##teamcity[") && !text.contains("##vso["), "{file}: {text}");
        }
    }
}

#[test]
#[ignore = "reads with the platforms' own parsers (tests/oracles/): cargo test -- --ignored, as .ci/run does"]
fn hostile_server_text_is_no_command_to_the_makers_parsers() {
    for (platform, format, run) in hostile_runs() {
        assert_the_parsers_find_only_ours(platform, &format!("{platform}, {format}"), &run);
    }
}

/// A failing gate on hostile server text under each CI (and none), text and JSON logs.
fn hostile_runs() -> Vec<(&'static str, &'static str, Run)> {
    let platforms: [(&str, &[(&str, &str)]); 6] = [
        ("none", &[]),
        ("GitHub", &[("GITHUB_ACTIONS", "true")]),
        ("GitLab", &[("GITLAB_CI", "true")]),
        ("TeamCity", &[("TEAMCITY_VERSION", "2025.11")]),
        ("Azure", &[("TF_BUILD", "True")]),
        ("Buildkite", &[("BUILDKITE", "true"), ("PATH", "/nonexistent")]),
    ];
    let mut runs = Vec::new();
    for (platform, vars) in platforms {
        for format in ["text", "json"] {
            let server = serve(vec![
                Reply::json(json!({"jobstateid": 4, "jobstatename": HOSTILE})),
                Reply::error(503, 1, HOSTILE),
                hostile_failure(),
            ]);
            let gate = Gate::against(&server).dotenv();
            let (junit, summary) = (gate.path("junit.xml"), gate.path("summary.md"));
            let mut gate = gate
                .arg("--log-format", format)
                .flag("--json")
                .arg("--junit", &junit)
                .arg("--summary", &summary);
            for (name, value) in vars {
                gate = gate.env(name, value);
            }
            let run = gate.run();
            run.assert_code(1);
            runs.push((platform, format, run));
        }
    }
    runs
}

/// Every line any CI would act on is one of ours, for the platform detected, and the makers'
/// parsers find only our own commands.
fn assert_only_our_commands(platform: &str, what: &str, run: &Run) {
    for line in lines(run) {
        let lower = line.to_lowercase();
        let ours = |prefix: &str| line.starts_with(prefix);
        assert!(
            !lower.contains("##teamcity[") || (platform == "TeamCity" && ours("##teamcity[")),
            "{what}: {line}"
        );
        assert!(
            !lower.contains("##vso[") || (platform == "Azure" && ours("##vso[")),
            "{what}: {line}"
        );
        let trimmed = line.trim_start();
        if trimmed.starts_with("##[") {
            assert!(platform == "Azure" && line.contains("group]"), "{what}: {line}");
        }
        for marker in ["--- ", "+++ ", "~~~ ", "^^^ +++"] {
            if line.starts_with(marker) {
                assert_eq!(platform, "Buildkite", "{what}: {line}");
                assert!(line == "^^^ +++" || line.starts_with("--- clanforge-wait"), "{line}");
            }
        }
        if trimmed.starts_with("::") {
            assert_eq!(platform, "GitHub", "{what}: {line}");
        }
        assert!(!line.contains('\u{1b}') || platform == "GitLab", "{what}: {line:?}");
    }
    // Read by the makers' parsers: only our own commands.
}

/// The makers' parsers find only our own commands, for the platform detected.
fn assert_the_parsers_find_only_ours(platform: &str, what: &str, run: &Run) {
    {
        let commands = azure_commands(run);
        let ours = commands.iter().all(|c| {
            c.get("format").is_some()
                || ["task.setsecret", "task.logissue", "task.setvariable", "task.setprogress"]
                    .contains(&c["command"].as_str().unwrap())
        });
        assert!(ours && (platform == "Azure" || commands.is_empty()), "{what}: {commands:?}");
    }
    {
        let messages = teamcity_messages(run);
        assert!(platform == "TeamCity" || messages.is_empty(), "{what}: {messages:?}");
    }
}

/// A platform's reporter comes on only when its variable says the platform runs the gate
/// (`true`; Azure's `True`; TeamCity's, any version), and each that does comes on, together.
#[test]
fn a_platform_is_detected_by_its_variable_saying_so() {
    let server = serve(vec![status(5, 100)]);
    let syntax = [
        ("GitHub", "::add-mask::"),
        ("GitLab", "section_start:"),
        ("TeamCity", "##teamcity["),
        ("Azure", "##vso["),
        ("Buildkite", "--- clanforge-wait"),
    ];
    for (vars, on) in [
        (&[("GITHUB_ACTIONS", "false"), ("GITLAB_CI", "true")][..], &["GitLab"][..]),
        (&[("TEAMCITY_VERSION", " "), ("BUILDKITE", "1"), ("TF_BUILD", "yes")], &[]),
        (
            &[
                ("TEAMCITY_VERSION", "2025.11 (build 197398)"),
                ("TF_BUILD", "True"),
                ("BUILDKITE", "true"),
            ],
            &["TeamCity", "Azure", "Buildkite"],
        ),
    ] {
        let mut gate = Gate::against(&server).env("PATH", "/nonexistent");
        for (name, value) in vars {
            gate = gate.env(name, value);
        }
        let run = gate.run();
        run.assert_code(0);
        let out = [run.stdout.as_str(), run.stderr.as_str()].concat();
        for (platform, marker) in syntax {
            assert_eq!(
                out.contains(marker),
                on.contains(&platform),
                "{platform} with {vars:?}:\n{out}"
            );
        }
    }
}
