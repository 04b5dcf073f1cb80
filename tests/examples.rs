//! The pipeline examples in `ci/` (and the book, which includes each one from its file), run as their
//! CI would run them: each step's shell in order, with the variables the file sets and the CI's
//! own variable, against the simulator; a step after a failed one runs only if the file says
//! so. Each example must deploy, hand the version's ID to its next step, publish its JUnit file
//! whatever happened, and roll out only on success.

mod common;

use clanforge_wait::sim::{Image, Sim, SimServer};
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The update URL the examples take from the CI's secret store.
const URL: &str = "s3://AKIAURLKEY:url%2Fsecret-PLUGH@my-bucket/builds/42/";

fn example(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect(path)
}

/// A workspace: `rollout.sh` (which records its arguments in `rolled-out`), `clanforge-wait`
/// and a recording `buildkite-agent` on PATH.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(binary(), bin.join("clanforge-wait")).unwrap();
        let agent = format!(
            "#!/bin/sh\n\
             data='{data}'\nmkdir -p \"$data\"\n\
             case \"$1 $2\" in\n\
             'meta-data set') printf '%s' \"$4\" > \"$data/$3\" ;;\n\
             'meta-data get') cat \"$data/$3\" ;;\n\
             *) cat > /dev/null ;;\n\
             esac\n",
            data = dir.path().join("meta-data").display()
        );
        let rollout = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            dir.path().join("rolled-out").display()
        );
        for (name, script) in [
            ("bin/buildkite-agent", agent.as_str()),
            ("rollout.sh", rollout.as_str()),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// What `rollout.sh` was given, if it ran.
    fn rolled_out(&self) -> Option<String> {
        std::fs::read_to_string(self.path("rolled-out")).ok()
    }

    /// The environment every step gets: the simulator, fast polling, the secrets, `vars`.
    fn env(&self, server: &SimServer, vars: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            (
                "PATH",
                format!("{}:/usr/bin:/bin", self.path("bin").display()),
            ),
            ("CLANFORGE_BASE_URL", server.url()),
            ("CLANFORGE_INTERVAL", "10ms".into()),
            ("CLANFORGE_MAX_INTERVAL", "40ms".into()),
            ("CLANFORGE_REQUEST_TIMEOUT", "2s".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        env.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }

    /// Runs one step's shell; its exit code and what it printed.
    fn run(&self, script: &str, env: &[(String, String)]) -> (i32, String, String) {
        let out = Command::new("/bin/sh")
            .args(["-e", "-c", script])
            .current_dir(self.dir.path())
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The secrets a studio keeps in its CI's store.
fn secrets() -> BTreeMap<String, String> {
    [
        ("CLANFORGE_ACCESS_KEY", ACCESS_KEY),
        ("CLANFORGE_SECRET_KEY", SECRET_KEY),
        ("CLANFORGE_UPDATE_URL", URL),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into()
}

fn ready() -> SimServer {
    Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .image(Image::quick(42, 1234))
        .spawn()
        .unwrap()
}

/// Locked by a diff: the deploy stops before any create (exit 4).
fn locked() -> SimServer {
    Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .image(Image::quick(42, 1234).locked_by(218_595))
        .spawn()
        .unwrap()
}

/// What every example must do, for a ready image and a locked one.
#[track_caller]
fn assert_continues_only_on_success(
    name: &str,
    run: impl Fn(&Workspace, &SimServer) -> (i32, String),
    rolled_out: impl Fn(&Workspace) -> String,
) {
    let workspace = Workspace::new();
    let server = ready();
    let (code, log) = run(&workspace, &server);
    assert_eq!(code, 0, "{name}: the deploy failed:\n{log}");
    assert_eq!(
        workspace.rolled_out().as_deref(),
        Some(rolled_out(&workspace).as_str()),
        "{name}: rolled out with what the gate made:\n{log}"
    );
    let junit = std::fs::read_to_string(workspace.path("clanforge-wait.xml")).unwrap();
    assert!(
        junit.contains("tests=\"4\" failures=\"0\" errors=\"0\""),
        "{name}: {junit}"
    );
    // Azure's mask commands are the one place a secret is named, to the agent.
    assert_never_shown(name, &log, &[SECRET_KEY, "secret-PLUGH"], AZURE_MASK);

    let workspace = Workspace::new();
    let server = locked();
    let (code, log) = run(&workspace, &server);
    assert_eq!(code, 4, "{name}: a locked image is an API error:\n{log}");
    assert_eq!(
        workspace.rolled_out(),
        None,
        "{name}: rolled out after a failure"
    );
    let junit = std::fs::read_to_string(workspace.path("clanforge-wait.xml")).unwrap();
    assert!(
        junit.contains("errors=\"1\""),
        "{name}: the report says why: {junit}"
    );
    let creates = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/create"))
        .count();
    assert_eq!(creates, 0, "{name}: nothing created on a locked image");
}

/// `text` between `start` and `end`, each occurrence in order.
fn all_between<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(start) {
        let from = &rest[at + start.len()..];
        let to = from.find(end).expect("closed");
        found.push(&from[..to]);
        rest = &from[to + end.len()..];
    }
    found
}

#[test]
fn the_jenkinsfile_publishes_its_junit_file_and_rolls_out_only_on_success() {
    let file = example("ci/jenkins/Jenkinsfile");
    // Declarative: a failed `sh` fails its stage, and the stages after it are skipped; the
    // junit step is in the stage's `post { always { … } }`.
    let shells: Vec<String> = file
        .lines()
        .filter_map(|l| l.trim().strip_prefix("sh '"))
        .map(|l| l.strip_suffix('\'').unwrap().to_owned())
        .collect();
    assert_eq!(shells.len(), 2, "{shells:?}");
    assert!(file.contains("post {\n                always {\n                    junit testResults: 'clanforge-wait.xml'"));
    assert!(file.contains("withCredentials(["));
    let mut vars = secrets();
    for line in file.lines() {
        let line = line.trim();
        if let Some((name, value)) = line
            .split_once(" = '")
            .filter(|(n, _)| n.starts_with("CLANFORGE_"))
        {
            vars.insert(
                name.trim().to_owned(),
                value.trim_end_matches('\'').to_owned(),
            );
        }
    }
    assert_eq!(vars["CLANFORGE_GAME_ID"], "42");
    vars.insert("JENKINS_URL".into(), "https://jenkins.example/".into());
    let run = |ws: &Workspace, server: &SimServer| {
        let env = ws.env(server, &vars);
        let mut log = String::new();
        for shell in &shells {
            let (code, out, err) = ws.run(shell, &env);
            log.push_str(&out);
            log.push_str(&err);
            if code != 0 {
                return (code, log);
            }
        }
        (0, log)
    };
    assert_continues_only_on_success("Jenkinsfile", run, |ws| {
        // The rollout reads the IDs from the result file the gate wrote.
        let result = std::fs::read_to_string(ws.path("clanforge-result.json")).unwrap();
        let result: serde_json::Value = serde_json::from_str(&result).unwrap();
        assert_eq!(result["image_version_id"], "5003");
        "clanforge-result.json\n".to_owned()
    });
}

#[test]
fn the_teamcity_dsl_hands_its_parameters_on_and_rolls_out_only_on_success() {
    let file = example("ci/teamcity/settings.kts");
    let scripts: Vec<String> = file
        .lines()
        .filter_map(|l| l.trim().strip_prefix("scriptContent = \"\"\""))
        .map(|l| l.strip_suffix("\"\"\"").unwrap().replace("${'$'}", "$"))
        .collect();
    assert_eq!(scripts.len(), 2, "{scripts:?}");
    // The second step runs only if the first succeeded.
    assert!(file.contains("executionMode = BuildStep.ExecutionMode.RUN_ON_SUCCESS"));
    assert!(file.contains(
        "reportType = XmlReport.XmlReportType.JUNIT\n            rules = \"clanforge-wait.xml\""
    ));
    let mut vars = BTreeMap::new();
    for args in all_between(&file, "param(\"env.", "\")") {
        let (name, value) = args.split_once("\", \"").unwrap();
        vars.insert(name.to_owned(), value.to_owned());
    }
    for secret in all_between(&file, "password(\"env.", "\"") {
        assert!(secrets().contains_key(secret), "{secret}");
    }
    vars.extend(secrets());
    vars.insert("TEAMCITY_VERSION".into(), "2025.11 (build 197398)".into());
    let run = |ws: &Workspace, server: &SimServer| {
        let mut env = ws.env(server, &vars);
        let mut log = String::new();
        for script in &scripts {
            let (code, out, err) = ws.run(script, &env);
            log.push_str(&out);
            log.push_str(&err);
            if code != 0 {
                return (code, log);
            }
            // `setParameter name='env.X'` makes X a variable of the steps after it.
            for line in out.lines() {
                if let Some(rest) = line.strip_prefix("##teamcity[setParameter name='env.") {
                    let (name, rest) = rest.split_once("' value='").unwrap();
                    let value = rest.strip_suffix("']").unwrap();
                    env.push((name.to_owned(), value.replace("|'", "'").replace("||", "|")));
                }
            }
        }
        (0, log)
    };
    assert_continues_only_on_success("settings.kts", run, |_| "5003\n".to_owned());
}

/// One Azure step: its script or task, its condition, its env.
#[derive(Debug, Default)]
struct AzureStep {
    script: Option<String>,
    task: Option<String>,
    condition: Option<String>,
    env: Vec<(String, String)>,
    inputs: Vec<(String, String)>,
}

/// The pipeline's `variables` and `steps` as written (the subset of YAML it uses).
fn azure_pipeline(file: &str) -> (BTreeMap<String, String>, Vec<AzureStep>) {
    let mut variables = BTreeMap::new();
    let mut steps: Vec<AzureStep> = Vec::new();
    let mut section = "";
    let mut block = "";
    for line in file.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if !line.starts_with(' ') && !line.is_empty() {
            section = line.trim_end_matches(':');
            continue;
        }
        let trimmed = line.trim();
        match section {
            "variables" => {
                if let Some((k, v)) = trimmed.split_once(": ") {
                    variables.insert(k.to_owned(), v.trim_matches('"').to_owned());
                }
            }
            "steps" => {
                if let Some(item) = trimmed.strip_prefix("- ") {
                    steps.push(AzureStep::default());
                    block = "";
                    let (k, v) = item.split_once(": ").unwrap();
                    let step = steps.last_mut().unwrap();
                    match k {
                        "script" => step.script = Some(v.to_owned()),
                        "task" => step.task = Some(v.to_owned()),
                        _ => panic!("{item}"),
                    }
                } else if let Some((k, v)) = trimmed.split_once(':') {
                    let step = steps.last_mut().unwrap();
                    let v = v.trim().to_owned();
                    match (line.len() - line.trim_start().len(), k) {
                        (4, "env" | "inputs") => block = if k == "env" { "env" } else { "inputs" },
                        (4, "condition") => step.condition = Some(v),
                        (4, _) => block = "",
                        (6, _) if block == "env" => step.env.push((k.to_owned(), v)),
                        (6, _) if block == "inputs" => step.inputs.push((k.to_owned(), v)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    (variables, steps)
}

#[test]
fn the_azure_pipeline_hands_its_output_variables_on_and_rolls_out_only_on_success() {
    let (variables, steps) = azure_pipeline(&example("ci/azure/azure-pipelines.yml"));
    assert_eq!(steps.len(), 3, "{steps:?}");
    let publish = steps
        .iter()
        .find(|s| s.task.as_deref() == Some("PublishTestResults@2"))
        .unwrap();
    assert_eq!(publish.condition.as_deref(), Some("succeededOrFailed()"));
    assert!(
        publish
            .inputs
            .contains(&("testResultsFiles".into(), "clanforge-wait.xml".into()))
    );
    assert_eq!(
        steps[2].condition, None,
        "the rollout runs only after success (the default)"
    );
    let run = |ws: &Workspace, server: &SimServer| {
        // Variables reach a script as its environment; secret ones only through `env:`.
        let mut vars = variables.clone();
        vars.insert("TF_BUILD".into(), "True".into());
        let mut macros: BTreeMap<String, String> = secrets();
        let mut log = String::new();
        let mut failed = None;
        for step in &steps {
            let Some(script) = &step.script else {
                // The publish task: the file it publishes is there whatever happened.
                assert!(ws.path("clanforge-wait.xml").exists(), "{log}");
                continue;
            };
            if failed.is_some() && step.condition.is_none() {
                continue;
            }
            let mut env = ws.env(server, &vars);
            for (name, value) in &step.env {
                let name_of = value
                    .strip_prefix("$(")
                    .and_then(|v| v.strip_suffix(')'))
                    .unwrap();
                env.push((
                    name.clone(),
                    macros.get(name_of).cloned().unwrap_or_default(),
                ));
            }
            let (code, out, err) = ws.run(script, &env);
            log.push_str(&out);
            log.push_str(&err);
            // The agent reads output variables from the log: $(gate.NAME) from now on.
            for line in err.lines() {
                if let Some(rest) = line.strip_prefix("##vso[task.setvariable variable=") {
                    let (name, rest) = rest.split_once(";isoutput=true;]").unwrap();
                    macros.insert(format!("gate.{name}"), rest.replace("%AZP25", "%"));
                }
            }
            if code != 0 {
                failed = Some(code);
            }
        }
        (failed.unwrap_or(0), log)
    };
    assert_continues_only_on_success("azure-pipelines.yml", run, |_| "5003\n".to_owned());
}

#[test]
fn the_buildkite_pipeline_hands_its_meta_data_on_and_rolls_out_only_on_success() {
    let file = example("ci/buildkite/pipeline.yml");
    // Steps as written: a command and its env, and a `wait`, which stops the build after a
    // failure.
    let mut steps: Vec<(Option<String>, BTreeMap<String, String>)> = Vec::new();
    let mut in_env = false;
    for line in file.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let trimmed = line.trim();
        if trimmed == "- wait" {
            steps.push((None, BTreeMap::new()));
        } else if trimmed.starts_with("- label:") {
            steps.push((Some(String::new()), BTreeMap::new()));
            in_env = false;
        } else if let Some(command) = trimmed.strip_prefix("command: ") {
            // `$$` is a `$` left for the agent's shell, not interpolated at upload.
            steps.last_mut().unwrap().0 = Some(command.replace("$$", "$"));
        } else if trimmed == "env:" {
            in_env = true;
        } else if in_env && line.starts_with("      ") {
            let (k, v) = trimmed.split_once(": ").unwrap();
            steps
                .last_mut()
                .unwrap()
                .1
                .insert(k.to_owned(), v.trim_matches('"').to_owned());
        } else {
            in_env = false;
        }
    }
    let kinds: Vec<bool> = steps.iter().map(|(c, _)| c.is_some()).collect();
    assert_eq!(
        kinds,
        [true, false, true],
        "deploy, wait, roll out: {steps:?}"
    );
    assert!(file.contains("artifact_paths: clanforge-wait.xml"));
    let run = |ws: &Workspace, server: &SimServer| {
        let mut log = String::new();
        let mut failed = None;
        for (command, vars) in &steps {
            match command {
                None if failed.is_some() => break,
                None => {}
                Some(command) => {
                    let mut vars = vars.clone();
                    vars.extend(secrets());
                    vars.insert("BUILDKITE".into(), "true".into());
                    vars.insert("CI".into(), "true".into());
                    let (code, out, err) = ws.run(command, &ws.env(server, &vars));
                    log.push_str(&out);
                    log.push_str(&err);
                    if code != 0 {
                        failed = Some(code);
                    }
                }
            }
        }
        (failed.unwrap_or(0), log)
    };
    assert_continues_only_on_success("pipeline.yml", run, |_| "5003\n".to_owned());
}

#[test]
fn the_book_includes_each_example_from_its_tested_file() {
    for (page, path) in [
        ("docs/src/ci/jenkins.md", "ci/jenkins/Jenkinsfile"),
        ("docs/src/ci/teamcity.md", "ci/teamcity/settings.kts"),
        (
            "docs/src/ci/azure-pipelines.md",
            "ci/azure/azure-pipelines.yml",
        ),
        ("docs/src/ci/buildkite.md", "ci/buildkite/pipeline.yml"),
    ] {
        let include = format!("{{{{#include ../../../{path}}}}}");
        assert!(
            example(page).contains(&include),
            "{page} must include {path} (not a copy of it)"
        );
    }
}
